"""The dead-attempt proof: an attempt is dead only when the engine itself read every block
the transaction could be in and found it in none (docs/engine.md, the exactly-once rule, point 4).

A transaction references block R (``ref_block_bytes`` = the low 2 bytes of R's number,
``ref_block_hash`` = bytes 8..16 of R's id) and expires at E. It can only be included in a
block numbered after R, and java-tron accepts it while E is later than the parent block's
time. So the window is R+1 up to and including the first block stamped after E + margin:
every later block has a parent stamped after E. The proof holds only when each block of the
window was read as an actual block (number and id agree, each parentHash is the previous
block's id, the first one's parent is block R), the window ends at or below the solidified
head, and the blocks read chain up hash by hash to the solidified head's id as a node
reported it (``getnodeinfo``): then every block of the window is final. A node that answers
``{}`` (it does not have the block: a lagging backend behind a load balancer) proves nothing:
the attempt stays undecided. Answers from different backends cannot be mixed into a false
proof: they must chain together block by block up to one solidified block.

Blocks are read once per sweep (``BlockWindow`` caches them) for all attempts that share them.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from tronpay.tron.errors import DecodeError
from tronpay.tron.node import BlockRef
from tronpay.tron.transaction import decode_raw_data

log = structlog.get_logger(__name__)

EXPIRED_INCLUDED = Counter(
    "tronpay_engine_expired_attempt_included_total",
    "Receipts seen for attempts the engine had declared dead (an alarm: check for a double pay)",
)

REF_SLOTS = 1 << 16  # ref_block_bytes hold the low 16 bits of the block number
MAX_REF_STEPS = 4  # how many 65536-block steps back the reference block may be looked for
WINDOW_CHUNK = 32  # blocks requested per attempt per round
MAX_WINDOW_BLOCKS = 30_000  # 24 h (the longest java-tron expiration) of 3 s blocks


class Verdict(enum.StrEnum):
    DEAD = "dead"  # every block of the window read, none holds the txid
    INCLUDED = "included"  # a block of the window holds the txid
    UNDECIDED = "undecided"  # a block is missing, inconsistent or not yet solidified


@dataclass(frozen=True)
class Candidate:
    """What the proof needs of an attempt: its txid, signed raw_data and expiration."""

    txid: str
    raw_data: bytes
    expiration_ms: int


@dataclass(frozen=True)
class RefPoint:
    low16: int
    hash_hex: str  # 16 hex digits: bytes 8..16 of the reference block id


@dataclass(frozen=True)
class WindowProof:
    txid: str
    verdict: Verdict
    reason: str = ""
    block_number: int | None = None  # INCLUDED: the block that holds the txid
    ref_number: int | None = None
    last_number: int | None = None  # DEAD: the window's last block


def ref_point(raw_data: bytes) -> RefPoint:
    """The reference block fields of signed raw_data (DecodeError when malformed)."""
    decoded = decode_raw_data(raw_data)
    ref_bytes = str(decoded.get("ref_block_bytes") or "")
    ref_hash = str(decoded.get("ref_block_hash") or "")
    if len(ref_bytes) != 4 or len(ref_hash) != 16:
        raise DecodeError("raw_data has no reference block")
    return RefPoint(int(ref_bytes, 16), ref_hash.lower())


def is_actual_block(block: BlockRef | None, number: int) -> bool:
    """The answer is block ``number`` itself: the number matches and its id starts with it."""
    if block is None or block.number != number or len(block.id) != 64:
        return False
    try:
        return int(block.id[:16], 16) == number
    except ValueError:
        return False


def latest_with_low_bits(top: int, low16: int) -> int:
    """The largest block number <= ``top`` whose low 16 bits are ``low16`` (may be < 0)."""
    return top - ((top - low16) % REF_SLOTS)


@dataclass
class _Walk:
    cand: Candidate
    margin_ms: int
    ref: RefPoint | None = None
    ref_number: int = -1
    ref_steps: int = 0
    prev: BlockRef | None = None  # last block verified; None while looking for block R
    next_number: int = -1
    result: WindowProof | None = None

    def undecided(self, reason: str) -> None:
        ref = self.ref_number if self.ref_number >= 0 else None
        self.result = WindowProof(self.cand.txid, Verdict.UNDECIDED, reason, ref_number=ref)

    def needs(self, solid: int) -> list[int]:
        if self.prev is None:
            return [self.ref_number]
        end = min(solid, self.next_number + WINDOW_CHUNK - 1)
        return list(range(self.next_number, end + 1))


class BlockWindow:
    """Reads blocks (each number once) and decides attempts against the solidified head."""

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[BlockRef | None]],
        *,
        solid_number: int,
        solid_id: str,
        margin_ms: int,
        concurrency: int,
    ) -> None:
        self._fetch = fetch
        self._solid = solid_number
        self._solid_id = solid_id.lower()
        self._margin_ms = margin_ms
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self.blocks: dict[int, BlockRef | None] = {}

    @property
    def fetched(self) -> int:
        return len(self.blocks)

    async def _one(self, number: int) -> None:
        async with self._sem:
            self.blocks[number] = await self._fetch(number)

    async def load(self, numbers: Iterable[int]) -> None:
        todo = sorted({n for n in numbers if 0 <= n <= self._solid and n not in self.blocks})
        if todo:
            await asyncio.gather(*(self._one(n) for n in todo))

    async def prove(self, candidates: Sequence[Candidate]) -> list[WindowProof]:
        walks = [self._start(c) for c in candidates]
        while True:
            active = [w for w in walks if w.result is None]
            if not active:
                break
            need: list[int] = []
            for w in active:
                need.extend(w.needs(self._solid))
            await self.load(need)
            for w in active:
                self._advance(w)
        results = [w.result for w in walks if w.result is not None]
        dead_ends = [r.last_number for r in results if r.last_number is not None]
        if not dead_ends:
            return results
        linked_from = await self._linked_from(min(dead_ends))
        return [
            r
            if r.verdict is not Verdict.DEAD or (r.last_number or -1) >= linked_from
            else WindowProof(
                r.txid,
                Verdict.UNDECIDED,
                "window not linked to the solidified head",
                ref_number=r.ref_number,
            )
            for r in results
        ]

    async def _linked_from(self, lowest: int) -> int:
        """The lowest block number from which the blocks read chain up, hash by hash, to the
        solidified head ``(solid_number, solid_id)`` one node reported: every such block is
        final. A window proved on blocks of a lagging or forked backend does not link up.
        Returns ``solid_number + 1`` when not even the head itself matches."""
        top = self._solid
        if top - lowest > MAX_WINDOW_BLOCKS:
            lowest = top - MAX_WINDOW_BLOCKS
        await self.load(range(lowest, top + 1))
        head = self.blocks.get(top)
        if not is_actual_block(head, top) or head is None or head.id.lower() != self._solid_id:
            return top + 1
        child = head
        number = top
        while number > lowest:
            parent = self.blocks.get(number - 1)
            if not is_actual_block(parent, number - 1) or parent is None:
                break
            if child.parent_id.lower() != parent.id.lower():
                break
            child = parent
            number -= 1
        return number

    def _start(self, cand: Candidate) -> _Walk:
        walk = _Walk(cand, self._margin_ms)
        try:
            walk.ref = ref_point(cand.raw_data)
        except DecodeError:
            log.error("engine.proof.undecodable_raw_data", txid=cand.txid)
            walk.undecided("undecodable raw_data")
            return walk
        walk.ref_number = latest_with_low_bits(self._solid, walk.ref.low16)
        if walk.ref_number < 0:
            walk.undecided("reference block above the solidified head")
        return walk

    def _advance(self, w: _Walk) -> None:
        if w.prev is None:
            self._find_ref(w)
            if w.result is not None or w.prev is None:
                return
        self._walk(w)

    def _find_ref(self, w: _Walk) -> None:
        number = w.ref_number
        block = self.blocks.get(number)
        if not is_actual_block(block, number) or block is None:
            w.undecided(f"block {number} missing or inconsistent")
            return
        if block.timestamp > w.cand.expiration_ms:
            # Too recent to be the reference block (it is older than the expiration): the
            # reference is 65536 blocks further back.
            w.ref_steps += 1
            w.ref_number = number - REF_SLOTS
            if w.ref_number < 0 or w.ref_steps > MAX_REF_STEPS:
                w.undecided("reference block not found")
            return
        if w.ref is not None and block.id[16:32].lower() != w.ref.hash_hex:
            # This chain does not hold the transaction's reference block: it can never be
            # included here. The window is still read and must link to the solidified head.
            log.warning("engine.proof.reference_not_on_chain", txid=w.cand.txid, block=number)
        w.prev = block
        w.next_number = number + 1

    def _walk(self, w: _Walk) -> None:
        txid = w.cand.txid.lower()
        deadline = w.cand.expiration_ms + w.margin_ms
        while w.result is None:
            number = w.next_number
            if number > self._solid:
                w.undecided("window not solidified yet")
                return
            if number - w.ref_number > MAX_WINDOW_BLOCKS:
                w.undecided("window too long")
                return
            if number not in self.blocks:
                return  # next round
            block = self.blocks[number]
            if not is_actual_block(block, number) or block is None:
                w.undecided(f"block {number} missing or inconsistent")
                return
            if w.prev is None or block.parent_id.lower() != w.prev.id.lower():
                w.undecided(f"block {number} does not extend block {number - 1}")
                return
            if txid in (t.lower() for t in block.txids):
                w.result = WindowProof(
                    w.cand.txid, Verdict.INCLUDED, block_number=number, ref_number=w.ref_number
                )
                return
            if block.timestamp > deadline:
                w.result = WindowProof(
                    w.cand.txid, Verdict.DEAD, ref_number=w.ref_number, last_number=number
                )
                return
            w.prev = block
            w.next_number = number + 1
