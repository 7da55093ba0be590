"""Common random numbers: one counter-based stream per decision, indexed by agent id.

A draw depends only on (seed, decision name, agent id), never on how many other agents
drew before it. Two scenarios that differ in one rule therefore see the same randomness
for every agent and decision the rule does not touch, and results do not depend on how
runs or agents are split across processes (the Starsim "CRN-safe" idea, done with a
splitmix64 hash instead of per-slot generators).
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from sim.jit import kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))
_TO_UNIT = 2.0**-53


@kernel
def _uniform_into(ids: np.ndarray, key: np.uint64, out: np.ndarray) -> np.ndarray:
    """out[i] = the uniform in (0, 1) of id `ids[i]` in the stream `key`: the splitmix64
    finaliser of id * golden + key, its top 53 bits centred in their interval."""
    for i in range(ids.size):
        x = np.uint64(ids[i]) * _GOLDEN + key
        x ^= x >> _S30
        x *= _M1
        x ^= x >> _S27
        x *= _M2
        x ^= x >> _S31
        out[i] = (np.float64(x >> _S11) + 0.5) * _TO_UNIT
    return out


@functools.lru_cache(maxsize=1 << 12)
def _stream_key(seed: int, decision: str) -> np.uint64:
    """`Streams.key`: a hash of the seed and the decision's name (a run asks for each
    decision's key once per cohort and round; the hash is computed once)."""
    digest = hashlib.blake2b(f"{seed}|{decision}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Streams:
    """Named random streams for one run, keyed by the run's seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def key(self, decision: str) -> np.uint64:
        """Key of a named decision's stream, derived from the seed by hashing.

        Args:
            decision: Name of the decision.

        Returns:
            A 64-bit key.
        """
        return _stream_key(self.seed, decision)

    def uniform(self, decision: str, ids: np.ndarray) -> np.ndarray:
        """One uniform draw in (0, 1) per agent id for this decision."""
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.uint64)
        u = np.empty(ids.shape, dtype=np.float64)
        _uniform_into(ids.ravel(), self.key(decision), u.reshape(-1))
        return u

    def exponential(self, decision: str, ids: np.ndarray) -> np.ndarray:
        """Unit-rate exponential draws (time to event at hazard 1)."""
        return -np.log(self.uniform(decision, ids))

    def generator(self, decision: str) -> np.random.Generator:
        """A sequential generator for draws that are not per agent (e.g. daily counts)."""
        return np.random.default_rng([self.seed, int(self.key(decision))])


class PeopleStreams(Streams):
    """Streams for the rows of a table that holds some of the people (the applicants, a
    block): row r draws as person `person_ids[r]`, so draws are the same whichever table,
    block or order a person is held in."""

    def __init__(self, seed: int, person_ids: np.ndarray):
        super().__init__(seed)
        self.person_ids = person_ids

    def uniform(self, decision: str, ids: np.ndarray) -> np.ndarray:
        """One uniform draw in (0, 1) per row `ids`, as for the person in that row."""
        return super().uniform(decision, self.person_ids[np.asarray(ids, dtype=np.int64)])
