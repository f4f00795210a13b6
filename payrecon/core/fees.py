"""The fee schedule of a merchant's contract, and the fee it says each payout should cost.

A schedule is a list of rules, each for one currency and (optionally) one payout method::

    [[fee]]
    currency = "IDR"
    method = "BANK_TRANSFER"   # optional; "*" or absent: any method
    percent = 1.5              # of the payout amount (its absolute value)
    fixed = 2500               # added to the percentage
    minimum = 5000             # optional floor
    maximum = 50000            # optional cap

The expected fee is ``|amount| * percent / 100 + fixed``, clamped to ``[minimum, maximum]``, then
rounded to the currency's precision (:func:`payrecon.platform.currency_decimals`: 0 for IDR, INR,
VND, JPY, KRW; 2 otherwise) half-up, meaning ties go away from zero (``0.125`` -> ``0.13``), the
commercial rounding contracts mean. The computation is exact: TOML numbers are read as
``Decimal`` and the vectorised path uses pyarrow ``decimal256`` arithmetic.

A rule for the payout's exact method wins over a ``"*"`` rule of the same currency; a payout with no
rule for its currency is not checked (reconciliation says nothing rather than guess).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from payrecon._tomlfile import read_toml
from payrecon.errors import InputError, Problem
from payrecon.platform import currency_decimals
from payrecon.statuses._table import MONEY_TYPE

ANY_METHOD = "*"
_KEYS = {"currency", "method", "percent", "fixed", "minimum", "maximum"}


@dataclass(frozen=True, slots=True)
class FeeRule:
    """One line of the contract: the fee for payouts in ``currency`` by ``method``."""

    currency: str
    method: str = ANY_METHOD
    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", self.currency.strip().upper())
        object.__setattr__(self, "method", (self.method or ANY_METHOD).strip().upper())
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"fee rule {self.currency}/{self.method}: minimum above maximum")

    def fee(self, amount: Decimal) -> Decimal:
        """The fee this rule charges on ``amount``, rounded half-up to the currency's precision."""
        raw = abs(amount) * self.percent / 100 + self.fixed
        if self.minimum is not None:
            raw = max(raw, self.minimum)
        if self.maximum is not None:
            raw = min(raw, self.maximum)
        return raw.quantize(Decimal(1).scaleb(-currency_decimals(self.currency)), ROUND_HALF_UP)


@dataclass(frozen=True)
class FeeSchedule:
    """The contract's fee rules; see the module docstring for the file format and the arithmetic."""

    rules: tuple[FeeRule, ...]

    def __post_init__(self) -> None:
        seen: set[tuple[str, str]] = set()
        for r in self.rules:
            key = (r.currency, r.method)
            if key in seen:
                raise ValueError(f"two fee rules for {r.currency}/{r.method}")
            seen.add(key)

    @classmethod
    def load(cls, path: str | Path) -> FeeSchedule:
        """Read a schedule from TOML (a ``[[fee]]`` array of tables); problems as ``InputError``."""
        path = Path(path)
        return cls.from_dict(read_toml(path, "fee schedule"), source=str(path))

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "<dict>") -> FeeSchedule:
        """Build a schedule from ``{"fee": [{...}, ...]}``; every bad entry is reported."""
        problems: list[Problem] = []
        rules: list[FeeRule] = []
        entries = doc.get("fee", [])
        if not isinstance(entries, list) or not entries:
            raise InputError(f"{source}: a fee schedule needs at least one [[fee]] rule")
        for i, entry in enumerate(entries, start=1):
            where = f"fee[{i}]"
            unknown = set(entry) - _KEYS
            if unknown:
                problems.append(Problem(source, None, where, f"unknown keys {sorted(unknown)}"))
            if not isinstance(entry.get("currency"), str) or not entry["currency"].strip():
                problems.append(Problem(source, None, f"{where}.currency", "is required"))
                continue
            nums: dict[str, Decimal | None] = {}
            for key in ("percent", "fixed", "minimum", "maximum"):
                value = entry.get(key)
                if value is None:
                    nums[key] = None
                    continue
                try:
                    nums[key] = Decimal(str(value)) if not isinstance(value, bool) else None
                except InvalidOperation:
                    nums[key] = None
                num = nums[key]
                if num is None or not num.is_finite() or num < 0:
                    problems.append(
                        Problem(
                            source, None, f"{where}.{key}", f"not a non-negative number: {value!r}"
                        )
                    )
            try:
                rules.append(
                    FeeRule(
                        currency=entry["currency"],
                        method=str(entry.get("method", ANY_METHOD)),
                        percent=nums["percent"] or Decimal(0),
                        fixed=nums["fixed"] or Decimal(0),
                        minimum=nums["minimum"],
                        maximum=nums["maximum"],
                    )
                )
            except ValueError as exc:
                problems.append(Problem(source, None, where, str(exc)))
        if problems:
            raise InputError(f"{source}: bad fee schedule", problems)
        try:
            return cls(tuple(rules))
        except ValueError as exc:
            raise InputError(f"{source}: {exc}") from None

    def rule_for(self, currency: str, method: str | None) -> FeeRule | None:
        """The rule that prices a payout: exact method first, then the currency's ``"*"`` rule."""
        cur, meth = currency.strip().upper(), (method or "").strip().upper()
        best: FeeRule | None = None
        for r in self.rules:
            if r.currency != cur:
                continue
            if r.method == meth:
                return r
            if r.method == ANY_METHOD:
                best = r
        return best

    def expected_fee(
        self, amount: Decimal, currency: str, method: str | None = None
    ) -> Decimal | None:
        """The fee the contract says this payout costs, or ``None`` if no rule covers it."""
        rule = self.rule_for(currency, method)
        return None if rule is None else rule.fee(amount)

    def expected_fees(self, amounts: pa.Array, currencies: pa.Array, methods: pa.Array) -> pa.Array:
        """Vectorised :meth:`expected_fee` over whole columns (money; null where no rule)."""
        n = len(amounts)
        out = pa.nulls(n, MONEY_TYPE)
        if n == 0:
            return out
        base = pc.abs(pc.cast(amounts, MONEY_TYPE))
        cur = pc.fill_null(pc.utf8_upper(currencies), "")
        meth = pc.fill_null(pc.utf8_upper(methods), "")
        done = pa.array([False] * n)
        # Specific-method rules first so that they win over the currency's "*" rule.
        for rule in sorted(self.rules, key=lambda r: r.method == ANY_METHOD):
            mask = pc.equal(cur, rule.currency)
            if rule.method != ANY_METHOD:
                mask = pc.and_(mask, pc.equal(meth, rule.method))
            mask = pc.and_(pc.fill_null(mask, False), pc.invert(done))
            if not pc.any(mask).as_py():
                continue
            fee = _vector_fee(base, rule)
            out = pc.if_else(mask, fee, out)
            done = pc.or_(done, mask)
        return out


def _scalar(value: Decimal) -> pa.Scalar:
    """``value`` as a decimal scalar of just the precision it needs (keeps products in range)."""
    _, digits, exp = value.normalize().as_tuple()
    assert isinstance(exp, int)
    scale = max(-exp, 0)
    precision = max(len(digits) + max(exp, 0), scale, 1)
    return pa.scalar(value, pa.decimal128(precision, scale))


def _vector_fee(base: pa.Array, rule: FeeRule) -> pa.Array:
    raw = pc.add(pc.multiply(base, _scalar(rule.percent / 100)), _scalar(rule.fixed))
    if rule.minimum is not None:
        raw = pc.max_element_wise(raw, pc.cast(_scalar(rule.minimum), raw.type))
    if rule.maximum is not None:
        raw = pc.min_element_wise(raw, pc.cast(_scalar(rule.maximum), raw.type))
    rounded = pc.round(
        raw, ndigits=currency_decimals(rule.currency), round_mode="half_towards_infinity"
    )
    return pc.cast(rounded, MONEY_TYPE)


def schedule_from_rules(rules: Iterable[FeeRule]) -> FeeSchedule:
    """A schedule from rules made in Python."""
    return FeeSchedule(tuple(rules))


__all__ = ["ANY_METHOD", "FeeRule", "FeeSchedule", "schedule_from_rules"]
