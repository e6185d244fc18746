"""``match_id``: a receipt's message id in the form the site's sending application stores.

The most common reason a receipt does not match the message it reports on is the id's
spelling: the submit response gave ``0A1B2C3D`` and the receipt says ``169552957`` (an SMSC
that reports the id in decimal, as some do over SMPP), or ``000123`` against ``123``, or
another letter case. ``message_id`` stays verbatim (it is what the provider said);
``match_id`` is computed from it by the profile's rule so that a reporting tool can join on
it directly:

============================  ==================================================
``verbatim`` (default)        the id as received
``lower`` / ``upper``         the id in that letter case
``strip-leading-zeros``       ``000123`` → ``123`` (``000`` → ``0``)
``decimal-to-hex``            ``169552957`` → ``a1b2c3d``; options ``case``
                              (``lower``/``upper``) and ``width`` (zero-padded)
``hex-to-decimal``            ``0A1B2C3D`` (or ``0x0a1b2c3d``) → ``169552957``;
                              option ``width`` (zero-padded)
============================  ==================================================

A rule that cannot apply to an id (``decimal-to-hex`` on ``AB-12``) is never guessed around:
the receipt is rejected with a :class:`~dlrpoll.errors.ParseError` that names the rule, so
it waits in quarantine until the profile is fixed (``dlrpoll reparse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dlrpoll.errors import ParseError

#: The rules, in the order they are documented.
RULES: tuple[str, ...] = (
    "verbatim",
    "lower",
    "upper",
    "strip-leading-zeros",
    "decimal-to-hex",
    "hex-to-decimal",
)
_CASES = ("lower", "upper")
_HEX = frozenset("0123456789abcdefABCDEF")
#: Longest id a numeric rule converts (a 64-octet SMPP id is 65 with its NUL).
_MAX_DIGITS = 64


@dataclass(frozen=True, slots=True)
class MatchRule:
    """A ``match_id`` rule and its options (see the module docstring)."""

    rule: str = "verbatim"
    case: str = "lower"
    width: int = 0

    @property
    def verbatim(self) -> bool:
        return self.rule == "verbatim"

    def apply(self, message_id: str) -> str:
        """The match id of ``message_id``; :class:`ParseError` when the rule cannot apply."""
        rule = self.rule
        if rule == "verbatim":
            return message_id
        if rule == "lower":
            return message_id.lower()
        if rule == "upper":
            return message_id.upper()
        if rule == "strip-leading-zeros":
            return message_id.lstrip("0") or ("0" if message_id else message_id)
        if rule == "decimal-to-hex":
            if not (message_id.isascii() and message_id.isdigit()) or len(message_id) > _MAX_DIGITS:
                raise self._refused(message_id, "is not a decimal number")
            text = format(int(message_id), "X" if self.case == "upper" else "x")
            return text.rjust(self.width, "0")
        # hex-to-decimal
        digits = message_id[2:] if message_id[:2] in ("0x", "0X") else message_id
        if not digits or not set(digits) <= _HEX or len(digits) > _MAX_DIGITS:
            raise self._refused(message_id, "is not a hexadecimal number")
        return str(int(digits, 16)).rjust(self.width, "0")

    def _refused(self, message_id: str, why: str) -> ParseError:
        return ParseError(
            f"match_id rule {self.rule!r}: message id {message_id[:80]!r} {why}, so it cannot "
            "be converted; fix the profile's match_id (or use 'verbatim') and run "
            "dlrpoll reparse"
        )

    def spec(self) -> str | dict[str, Any]:
        """The rule as a profile writes it in TOML: a name, or a table with its options."""
        options: dict[str, Any] = {}
        if self.rule == "decimal-to-hex" and self.case != "lower":
            options["case"] = self.case
        if self.width:
            options["width"] = self.width
        return {"rule": self.rule, **options} if options else self.rule


VERBATIM = MatchRule()


def match_rule(value: object, where: str, problems: list[str]) -> MatchRule | None:
    """A rule from a profile's ``match_id`` setting: a rule name, or a table ``{ rule = …,
    case = …, width = … }``. Problems are appended by key path (``where``); ``None`` then."""
    before = len(problems)
    if isinstance(value, str):
        spec: Mapping[str, Any] = {"rule": value}
        base = where
    elif isinstance(value, Mapping):
        spec = value
        base = f"{where}.rule"
        for key in sorted(set(spec) - {"rule", "case", "width"}):
            problems.append(f"{where}.{key}: is not a known setting; use rule, case and width")
    else:
        problems.append(
            f'{where}: must be a rule name or a table like {{ rule = "decimal-to-hex", '
            'case = "upper", width = 16 }'
        )
        return None
    rule = spec.get("rule")
    if rule not in RULES:
        shown = "is required" if rule is None else f"{rule!r} is not a match_id rule"
        problems.append(f"{base}: {shown}; use one of {', '.join(RULES)}")
    case = spec.get("case", "lower")
    if case not in _CASES:
        problems.append(f"{where}.case: {case!r} is not a letter case; use 'lower' or 'upper'")
    elif "case" in spec and rule != "decimal-to-hex":
        problems.append(f"{where}.case: only decimal-to-hex writes letters; remove it")
    width = spec.get("width", 0)
    if not isinstance(width, int) or isinstance(width, bool) or not 0 <= width <= _MAX_DIGITS:
        problems.append(f"{where}.width: must be a whole number from 0 to {_MAX_DIGITS}")
    elif width and rule not in ("decimal-to-hex", "hex-to-decimal"):
        problems.append(f"{where}.width: only decimal-to-hex and hex-to-decimal pad; remove it")
    if len(problems) > before:
        return None
    return MatchRule(str(rule), str(case), int(width))
