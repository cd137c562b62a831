"""Redaction of a raw file's name before the batch log keeps it.

A file name is typed by whoever saved the export, and may hold an identifier
(`960121-1021413_visitors.csv`); the batch log keeps the name with each
identifier replaced by its kind in brackets (`[kr_rrn]_visitors.csv`), and
dates kept: they date the export, and name no one. The dashboard's batch log
redacts with it too, for a store written otherwise.

The detector is the ETL's own, kept small, and must stay so: the privacy
officer's audit (DESIGN.md rule 6) checks the store this one wrote with an
independent detector, so the two share no code. Where in doubt it redacts: a
name may lose a word, never keep an identifier.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

# Not inside a longer run of ASCII letters and digits (Hangul or _ beside an identifier does not hide it),
# nor one group of a longer dashed or dotted number (2025-10-01 holds no phone).
_B = r"(?<![0-9A-Za-z])(?<![0-9][-.])"
_E = r"(?![0-9A-Za-z])(?![-.][0-9])"

# Generic TLDs a bare domain may end with; any two-letter one is a country's, unless a file extension.
_GENERIC = """
com net org edu gov mil int info biz name pro asia mobi xyz site online shop store tech top club blog cloud dev
korea seoul busan clinic hospital health doctor dental beauty
"""
_GENERIC_TLDS = frozenset(_GENERIC.split())
# two-letter file extensions: a file name (notes.md, data.gz) is no address
_FILE_EXTENSIONS = frozenset({"gz", "xz", "md", "py", "pl", "ps", "sh", "so", "rs", "tf", "ai", "ml", "mm"})
_LABEL = r"[0-9A-Za-z](?:[0-9A-Za-z-]{0,61}[0-9A-Za-z])?"
_TLD = r"(?:[A-Za-z]{2,63}|xn--[0-9A-Za-z-]{1,59})"

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_RESIDENT_BIRTH_DATE = r"[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"


def _whole(match: re.Match[str]) -> int | None:
    return match.end()


def _known_tld(match: re.Match[str]) -> int | None:
    tld = match.group("tld").lower()
    known = tld in _GENERIC_TLDS or tld.startswith("xn--") or (len(tld) == 2 and tld not in _FILE_EXTENSIONS)
    return match.end() if known else None


def _e164(match: re.Match[str]) -> int | None:
    # E.164 has 8 to 15 digits: the groups up to the last that keeps it so (not a year after it)
    digits, end = 0, None
    for group in re.finditer(r"[0-9]+\)?", match.group()):
        digits += len(group.group().rstrip(")"))
        if 8 <= digits <= 15:
            end = match.start() + group.end()
    return end


def _ipv6(match: re.Match[str]) -> int | None:
    # a file extension may follow the address, and read as hex (.cab)
    text = match.group()
    for address in (text.rstrip("."), text.rpartition(".")[0]):
        if address.count(":") >= 2:
            try:
                ipaddress.IPv6Address(address)
            except ValueError:
                continue
            return match.start() + len(address)
    return None


# Visa, Mastercard, Amex, Diners, JCB, Discover, UnionPay (3-6); Mastercard 2221-2720; UATP (1); Korean cards (9)
_CARD_ISSUER = re.compile(
    r"[3-6]|2(?:22[1-9]|2[3-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)[0-9]{12}$|1[0-9]{14}$|9[0-9]{15}$"
)


def _luhn_ok(digits: str) -> bool:
    doubled = (int(char) * (2 if index % 2 else 1) for index, char in enumerate(reversed(digits)))
    return sum(value - 9 if value > 9 else value for value in doubled) % 10 == 0


def _card(match: re.Match[str]) -> int | None:
    # a short last group may be something else (4111 1111 1111 1111 12/27): the longest valid number
    groups = list(re.finditer(r"[0-9]+", match.group()))
    for count in range(len(groups), 0, -1):
        digits = "".join(group.group() for group in groups[:count])
        if len(digits) >= 13 and _luhn_ok(digits) and _CARD_ISSUER.match(digits):
            return match.start() + groups[count - 1].end()
    return None


# (kind, pattern, the end of the identifier a match is, or None when it is none)
_PATTERNS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], int | None]], ...] = tuple(
    (kind, re.compile(pattern, re.ASCII), judge)
    for kind, pattern, judge in (
        ("email", rf"[0-9A-Za-z._%+-]+@(?:{_LABEL}\.)+{_TLD}(?![0-9A-Za-z-])", _whole),
        ("url", r"(?i:https?|ftp)://[^\s<>\"'`{}|\\^]+", _whole),
        ("url", rf"(?<![0-9A-Za-z.@_-])(?i:www)\.(?:{_LABEL}\.)+{_TLD}", _whole),
        # a bare domain with a known TLD; not one a file extension follows (example.com.csv)
        (
            "url",
            rf"(?<![0-9A-Za-z.@_-])(?:{_LABEL}\.)+(?P<tld>{_TLD})(?![0-9A-Za-z@_-])(?!\.[0-9A-Za-z])",
            _known_tld,
        ),
        # Korean resident (gender digit 1-4) and foreigner (5-8) registration numbers: YYMMDD-GNNNNNN
        ("kr_rrn", rf"{_B}{_RESIDENT_BIRTH_DATE}-?[1-4][0-9]{{6}}{_E}", _whole),
        ("kr_frn", rf"{_B}{_RESIDENT_BIRTH_DATE}-?[5-8][0-9]{{6}}{_E}", _whole),
        # region 11-26 or 28, then 2-6-2 digits, one separator (or none) throughout
        ("kr_driver_license", rf"{_B}(?:1[1-9]|2[0-6]|28)([- ]?)[0-9]{{2}}\1[0-9]{{6}}\1[0-9]{{2}}{_E}", _whole),
        # a trunk 0 (Korea, Israel): 010-1234-5678, 02 123 4567, (031) 123-4567, 09-7625400, 01012345678
        (
            "phone",
            rf"{_B}(?:0[0-9]{{1,3}}([-. ])[0-9]{{3,4}}\1[0-9]{{4}}|\(0[0-9]{{1,3}}\) ?[0-9]{{3,4}}[-. ][0-9]{{4}}"
            rf"|0[0-9]{{1,2}}-[0-9]{{7}}){_E}",
            _whole,
        ),
        ("phone", rf"{_B}01[016789][0-9]{{7,8}}{_E}", _whole),
        # Chinese mobiles 138-1234-5678, 13812345678; North America (415) 555-0132, 1-415-555-0132
        ("phone", rf"{_B}1[3-9][0-9]([- ]?)[0-9]{{4}}\1[0-9]{{4}}{_E}", _whole),
        (
            "phone",
            rf"{_B}(?:[0-9]{{1,3}}[-. ])?(?:\([2-9][0-9]{{2}}\) ?|[2-9][0-9]{{2}}[-. ])[2-9][0-9]{{2}}[-. ][0-9]{{4}}{_E}",
            _whole,
        ),
        # a country code: +82 10-1234-5678, +82-2-123-4567, +821012345678
        ("phone", r"(?<![0-9A-Za-z+])\+[1-9][0-9]{0,14}(?:[-. ]?(?:\([0-9]{1,4}\)|[0-9]{1,14})){0,7}", _e164),
        ("ip", rf"(?<![0-9A-Za-z.]){_OCTET}(?:\.{_OCTET}){{3}}(?![0-9])", _whole),
        ("ip", r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:.]{2,45}", _ipv6),
        (
            "mac",
            rf"{_B}(?:[0-9A-Fa-f]{{2}}([-:])(?:[0-9A-Fa-f]{{2}}\1){{4}}[0-9A-Fa-f]{{2}}|(?:[0-9A-Fa-f]{{4}}\.){{2}}[0-9A-Fa-f]{{4}}){_E}",
            _whole,
        ),
        # Korea M123A4567 and M12345678 (first letter M S R O D); United States, a capital and 8 digits
        ("passport", rf"{_B}(?:[MSRODmsrod][0-9]{{3}}[A-Za-z][0-9]{{4}}|[MSRODmsrodA-Z][0-9]{{8}}){_E}", _whole),
        # United States, 9 digits, as a token of its own: not a count in raw-100000000.csv
        ("passport", r"(?<![0-9A-Za-z._+-])[0-9]{9}(?![0-9A-Za-z_-])(?!\.[0-9A-Za-z])", _whole),
        # 13 to 19 digits, or groups (4-4-4-4, 4-6-5), one separator throughout
        (
            "card",
            rf"{_B}(?:[0-9]{{13,19}}|[0-9]{{4}}([ -])[0-9]{{4,6}}\1[0-9]{{4,5}}(?:\1[0-9]{{1,4}}){{0,2}}){_E}",
            _card,
        ),
    )
)


def find_identifiers(text: str) -> Iterator[tuple[str, int, int]]:
    """Each identifier in `text` as (kind, start, end), in no order; matches may overlap."""
    for kind, pattern, judge in _PATTERNS:
        for match in pattern.finditer(text):
            end = judge(match)
            if end is not None:
                yield kind, match.start(), end


def redact(text: str) -> str:
    """`text` with each identifier replaced by its kind in brackets (`[email]`); dates are kept.

    Overlapping identifiers are replaced as one, named by the one that starts
    first (the longest, at a tie), so that no part of either is left.
    """
    spans = sorted(find_identifiers(text), key=lambda found: (found[1], -found[2]))
    parts, end = [], 0
    for kind, start, stop in spans:
        if start < end:  # overlaps the one before: that one grows to cover it
            end = max(end, stop)
            continue
        parts += [text[end:start], f"[{kind}]"]
        end = stop
    return "".join(parts) + text[end:]
