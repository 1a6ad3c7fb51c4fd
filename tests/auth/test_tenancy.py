"""The tenant of a token (``TRONPAY_JWT_TENANT_CLAIM``) and acting in another one."""

from __future__ import annotations

import secrets

import pytest

from tronpay.app import auth_config
from tronpay.auth import AuthConfig, AuthMisconfigured, JWTVerifier, Principal, mint_token
from tronpay.auth.errors import InvalidTenantClaim, InvalidTenantHeader, TenantForbidden
from tronpay.auth.tenancy import acting_as
from tronpay.config import Settings

SECRET = secrets.token_hex(32).encode()


def verifier(claim: str | None) -> JWTVerifier:
    return JWTVerifier(algorithms=["HS256"], hmac_secret=SECRET, tenant_claim=claim)


def token(**claims: object) -> str:
    return mint_token(SECRET, sub="alice", scopes=["payouts:read"], extra_claims=claims)


def test_without_a_claim_every_token_is_in_the_default_tenant() -> None:
    for text in (token(), token(org="acme")):
        principal = verifier(None).verify(text)
        assert (principal.tenant, principal.home_tenant) == ("default", "default")
        assert not principal.crossing


def test_the_configured_claim_names_the_tenant() -> None:
    principal = verifier("org").verify(token(org="acme-EU_1.x"))
    assert (principal.tenant, principal.home_tenant) == ("acme-EU_1.x", "acme-EU_1.x")


@pytest.mark.parametrize(
    "value", [None, "", " acme", "-acme", "a/b", "a b", "é", "a" * 65, 7, ["acme"], True]
)
def test_a_missing_or_unsafe_tenant_claim_is_refused(value: object) -> None:
    claims = {} if value is None else {"org": value}
    with pytest.raises(InvalidTenantClaim) as refused:
        verifier("org").verify(token(**claims))
    assert refused.value.status == 401
    assert refused.value.code == "invalid_tenant_claim"


def test_a_claim_name_that_is_not_plain_is_a_configuration_error() -> None:
    with pytest.raises(AuthMisconfigured):
        verifier("a claim")


def test_the_claim_comes_from_the_environment_and_the_settings() -> None:
    assert AuthConfig.from_env({"TRONPAY_JWT_TENANT_CLAIM": " org "}).tenant_claim == "org"
    assert AuthConfig.from_env({}).tenant_claim is None
    assert auth_config(Settings(jwt_tenant_claim="org")).tenant_claim == "org"
    assert auth_config(Settings(jwt_tenant_claim="  ")).tenant_claim is None


def test_acting_in_another_tenant_needs_the_admin_scope() -> None:
    plain = Principal("bob", frozenset({"payouts:read"}), tenant="globex", home_tenant="globex")
    assert acting_as(plain, None) is plain
    assert acting_as(plain, "globex") is plain
    with pytest.raises(TenantForbidden):
        acting_as(plain, "acme")
    admin = Principal("root", frozenset({"admin"}), tenant="platform", home_tenant="platform")
    crossing = acting_as(admin, "acme")
    assert (crossing.tenant, crossing.home_tenant, crossing.crossing) == (
        "acme",
        "platform",
        True,
    )
    with pytest.raises(InvalidTenantHeader):
        acting_as(admin, "../acme")
