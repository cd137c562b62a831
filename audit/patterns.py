"""The audit's pattern scan (DESIGN.md rule 6): identifiers in text values and in raw bytes.

`scan_text` looks at one text value (the audit runs it over every text value of
every table of the store); `scan_bytes` looks at the raw bytes of the store file,
where a value from a dropped staging table could survive in a freed block.

Each kind is a shape (a regular expression) plus a validation: `ipaddress` for
IPs, Luhn and issuer prefixes for cards, calendar dates for dates and resident
numbers, region codes for driver licences, a TLD list for bare domains. No kind
fires inside a longer alphanumeric run (the digits of a hex hash are no phone).

Decisions on noisy shapes:
- Resident (`kr_rrn`) and foreigner (`kr_frn`) registration numbers are reported
  whenever their shape and birth date are valid, whatever their check digit:
  numbers issued since October 2020 carry none. `rrn_checksum_ok` and
  `frn_checksum_ok` tell the report which of the two it is.
- A bare 9-digit number counts as a (US) passport only as a token of its own, not
  glued to `- _ . / \\ +` (a row count in `raw-100000000.csv` is not one); a letter
  and 8 digits always counts.
- Bare domains (`example.co.kr`, no scheme, no `www.`) need a TLD of
  `COMMON_TLDS`, which leaves out TLDs that are also file extensions (`md`, `py`,
  `zip`, ...); an email's domain is not also reported as a URL.
- Dates must be full (day, month, year): `May-2021` or `05/21` is not reported.
  A two-digit year is read as D/M/Y, M/D/Y or Y/M/D, and any valid reading counts,
  so a version such as `26.2.16` reads as a date too (`1.0.11` does not: no month 0).
- The byte scan (`BYTE_KINDS`) has no `date`: a DATE column is stored as a number,
  so a date found in the bytes is text, and cannot be told from the dates in the
  file names the batch log keeps on purpose. Random binary bytes spell short
  identifiers by the dozen, so the byte scan also leaves out bare domains and IPv6
  addresses with fewer than six hex digits (`::`, `::1`, `fe80::1`), and wants an
  email to have two characters on each side of the @ and a known TLD (or one of
  three letters or more that ends the string: `.example`).
- DuckDB writes the strings of a column back to back, with nothing between them
  (`user1@example.comuser0@example.com`). In the byte scan, shapes held together by
  an @, a scheme or separators may therefore touch letters and digits (a dashed
  RRN, `010-1234-5678`, `4111-1111-1111-1111`, an IPv4 or MAC address); shapes
  without separators (a run of digits, a passport) keep the boundary rule, else
  they would fire inside the hex hashes of the batch log. An IPv6 address, held
  together by its colons, may touch a letter that is no hex digit before it and
  any letter after it (`desktop2001:db8::2amobile` is found as `2001:db8::2a`;
  before `desktop`, as `2001:db8::2ade`): the whole run of hex digits and colons
  must be one address, so two MAC addresses side by side are no IPv6. The store's own
  values side by side, in any order, fire nothing (tests/test_patterns.py).
  DuckDB also compresses large string columns (FSST), and those bytes no scan can
  read: a clean byte scan is evidence, not proof.

Log-shaped identifiers (issue 15): an IPv4-mapped IPv6 address (`::ffff:203.0.113.7`)
is an IPv6 address and holds an IPv4 one, both found as `ip`; an email percent-encoded
in a query string (`?email=hong%40example.com`) is an `email`; a URL with a query string
is a `url` by its scheme or `www.`; a `user_agent` is a browser's `Mozilla/5.0 (`, any
`product/1.2 (comment` or a known script client's `curl/8.5.0`: a user agent with the
address is how a web server log tells one visitor from another.

Nothing here prints a value: `Match.value` is there for `mask()`, and the repr of
a `Match` leaves it out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

KINDS: tuple[str, ...] = (
    "email",
    "phone",
    "ip",
    "mac",
    "url",
    "kr_rrn",
    "kr_frn",
    "kr_driver_license",
    "passport",
    "card",
    "user_agent",
    "date",
)
# KINDS without "date": see the module docstring.
BYTE_KINDS: tuple[str, ...] = tuple(kind for kind in KINDS if kind != "date")

_ORDER = {kind: index for index, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Match:
    """One identifier: its kind, where it is, and the matched text (for `mask()`, never to be shown)."""

    kind: str
    start: int
    end: int
    value: str = field(repr=False)


# --- boundaries ---------------------------------------------------------------

# Not inside a longer alphanumeric run (ASCII: Hangul next to an identifier does not hide it).
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
# Not one group of a longer dashed or dotted number: 2025-01-01, 1.0.11, 01-23-45-67-89-AB; a date
# is not one part of a slashed one either (5/20/2021/3), a phone may be (010-1234-5678/010-9876-5432).
_NO_GROUP_BEFORE = r"(?<![0-9][-.])"
_NO_GROUP_AFTER = r"(?![-.][0-9])"
_NO_DATE_PART_BEFORE = r"(?<![0-9][-./])"
_NO_DATE_PART_AFTER = r"(?![-./][0-9])"

# The *_PACKED patterns are the byte scan's: DuckDB writes strings back to back, so there a shape held
# together by an @, a scheme or separators may touch letters and digits (module docstring).


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # re.ASCII: \s and case folding stay ASCII, whatever the text
    return re.compile(pattern, re.ASCII | flags)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# Every finder yields (kind, start, end); `binary` is set for the byte scan.
_Found = Iterator[tuple[str, int, int]]

# --- TLDs ---------------------------------------------------------------------

# Country codes (ISO 3166-1 alpha-2, and uk, eu), common generic TLDs, and second-level
# suffixes; a bare domain matches on its last one or two labels.
_COUNTRY_TLDS = """
ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by bz
ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et eu fi fj fk fm
fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it
je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn
mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt
pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl
tm tn to tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
"""
_GENERIC_TLDS = """
com net org edu gov mil int info biz pro mobi asia tel travel jobs aero coop museum xyz site online store shop
tech top club blog cloud icu vip ltd group company agency digital network studio global city dev app zip mov
webcam vlaanderen clinic hospital doctor dental dentist healthcare surgery beauty salon spa fitness yoga
seoul busan tokyo moscow london berlin paris nyc korea
"""
_SECOND_LEVEL_TLDS = """
co.kr or.kr ne.kr go.kr ac.kr re.kr pe.kr co.il org.il ac.il co.uk org.uk ac.uk co.jp ne.jp or.jp ac.jp
com.cn net.cn org.cn com.tw com.hk com.sg com.my com.ph com.vn com.au com.br com.mx co.in co.th co.id
"""
# Real TLDs or not, these are common file extensions: a file name (notes.md, setup.py, data.zip) is no address.
_FILE_EXTENSIONS = "ac ai am app ar bz cc la md mk ml mm mo mov pl pm ps py rs sh so tf zip csv gz json jsonl"
_FILE_EXTENSION_TLDS = frozenset(_FILE_EXTENSIONS.split())
COMMON_TLDS: frozenset[str] = (
    frozenset((_COUNTRY_TLDS + _GENERIC_TLDS + _SECOND_LEVEL_TLDS).split()) - _FILE_EXTENSION_TLDS
)

_LABEL = r"[0-9A-Za-z](?:[0-9A-Za-z-]{0,61}[0-9A-Za-z])?"
_TLD_SHAPE = r"(?:[A-Za-z]{2,63}|xn--[0-9A-Za-z-]{1,59})"
# longest first, so that "com" is tried before "co"
_KNOWN_TLD = "(?:" + "|".join(sorted((tld for tld in COMMON_TLDS if "." not in tld), key=len, reverse=True)) + ")"

# --- email --------------------------------------------------------------------

_EMAIL = _re(
    rf"(?<![0-9A-Za-z._%+-])([0-9A-Za-z._%+-]{{1,64}})@((?:({_LABEL})\.){{1,8}}({_TLD_SHAPE}))(?![0-9A-Za-z-])"
)
# Packed, the domain is read from the @ on, as in text (the TLD ends the string) or up to a known TLD
# (user1@example.comuser0@...); the local part is read backwards.
_EMAIL_DOMAIN = _re(rf"@((?:{_LABEL}\.){{1,8}})({_TLD_SHAPE})(?![0-9A-Za-z-])")
_EMAIL_DOMAIN_PACKED = _re(rf"@((?:{_LABEL}\.){{1,8}})({_KNOWN_TLD}|xn--[0-9A-Za-z-]{{1,59}})", re.IGNORECASE)
_LOCAL_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._%+-")


# An email in a query string or a referrer, its @ percent-encoded: ?email=hong%40example.com
_EMAIL_ENCODED = _re(
    rf"(?<![0-9A-Za-z._+-])([0-9A-Za-z._+-]{{1,64}})%40((?:{_LABEL}\.){{1,8}}({_TLD_SHAPE}))(?![0-9A-Za-z-])",
    re.IGNORECASE,
)
# packed, up to a known TLD, as an email with its @ (random bytes spell `ab%40cd.ef`)
_EMAIL_ENCODED_PACKED = _re(
    rf"(?<![0-9A-Za-z._+-])([0-9A-Za-z._+-]{{1,64}})%40((?:{_LABEL}\.){{1,8}})({_KNOWN_TLD}|xn--[0-9A-Za-z-]{{1,59}})",
    re.IGNORECASE,
)


def _local_part_ok(local: str) -> bool:
    return bool(local) and not local.startswith(".") and not local.endswith(".") and ".." not in local


def _email(text: str, binary: bool) -> _Found:
    if "%40" in text:
        for match in (_EMAIL_ENCODED_PACKED if binary else _EMAIL_ENCODED).finditer(text):
            if _local_part_ok(match.group(1)):
                yield "email", *match.span()
    if "@" not in text:
        return
    if not binary:
        for match in _EMAIL.finditer(text):
            if _local_part_ok(match.group(1)):
                yield "email", *match.span()
        return
    floor, at = 0, text.find("@")
    while at >= 0:
        # a known TLD that ends the string, else a known TLD the next string follows, else an unknown TLD
        # of 3 letters at least that ends the string (random bytes spell `+n@v.gf`)
        domain = delimited = _EMAIL_DOMAIN.match(text, at)
        tld = delimited.group(2).lower() if delimited else ""
        if not (tld in COMMON_TLDS or tld.startswith("xn--")):
            domain = _EMAIL_DOMAIN_PACKED.match(text, at) or (delimited if len(tld) >= 3 else None)
        if domain:
            start = at
            while start > max(floor, at - 64) and text[start - 1] in _LOCAL_CHARS:
                start -= 1
            local = text[start:at].lstrip(".")
            label = domain.group(1)[:-1].rpartition(".")[2]
            # two characters at least on each side of the @ (random bytes again)
            if len(local) >= 2 and len(label) >= 2 and _local_part_ok(local):
                yield "email", at - len(local), domain.end()
                floor = domain.end()
        at = text.find("@", max(at + 1, floor))


# --- phone --------------------------------------------------------------------

# North America, optionally after a country code: (415) 555-0132, 415-555-0132, 91-415-555-0132
_NANP = (
    r"(?:[0-9]{1,3}[-. ])?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}(?P<us>[-. ]))"
    r"[2-9][0-9]{2}(?(us)(?P=us)|[-. ])[0-9]{4}"
)
# a trunk 0 (Korea, Japan, UK, ...): 010-1234-5678, 010 1234 5678, 02-123-4567, (031) 123-4567; Israel: 09-7625400
_TRUNK = (
    rf"{_NO_GROUP_BEFORE}(?:(?:0[0-9]{{1,3}}(?P<trunk>[-. ])|\(0[0-9]{{1,3}}\) ?)"
    r"[0-9]{3,4}(?(trunk)(?P=trunk)|[-. ])[0-9]{4}|0[0-9]{1,2}-[0-9]{7})"
)
# Chinese mobiles: 138-1234-5678, 138 1234 5678
_CN_SEPARATED = r"1[3-9][0-9](?P<cn>[- ])[0-9]{4}(?P=cn)[0-9]{4}"
# Korean mobiles 01012345678, Chinese mobiles 13812345678
_PHONE_CONTIGUOUS = r"01[016789][0-9]{7,8}|1[3-9][0-9]{9}"
# one pass for all the shapes without a plus, the shared lookbehind first (2.5 times faster)
_PHONE = _re(rf"{_B}(?:(?:{_NANP}|{_TRUNK}|{_CN_SEPARATED}){_E}{_NO_GROUP_AFTER}|(?:{_PHONE_CONTIGUOUS}){_E})")
# Packed, only a number with a trunk 0 may follow a digit (010-1234-5678010-9876-5432): the age groups side
# by side make the others (20-2930-390-1370+). The lookahead in front only makes it fail fast.
_PHONE_PACKED = _re(
    r"(?=\(|[0-9]{1,4}[-. )]|[0-9]{10})(?:"
    rf"{_TRUNK}{_NO_GROUP_AFTER}"
    rf"|(?<![0-9])(?<![0-9][-. ])(?:{_NANP}|{_CN_SEPARATED}){_NO_GROUP_AFTER}"
    rf"|{_B}(?:{_PHONE_CONTIGUOUS}){_E})"
)
# With a plus: +82 10-1234-5678, +82-2-123-4567, +821012345678, +44 (20) 7123 4567. Packed, the plus
# may follow a letter, not a digit: the age groups 70+ and 14-19 side by side are no phone.
_PLUS_NUMBER = r"\+[1-9][0-9]{0,14}(?:[-. ]?(?:\([0-9]{1,4}\)|[0-9]{1,14})){0,7}"
_PHONE_PLUS = _re(rf"(?<![0-9A-Za-z+]){_PLUS_NUMBER}{_E}")
_PHONE_PLUS_PACKED = _re(rf"(?<![0-9+]){_PLUS_NUMBER}")
_DIGIT_GROUP = _re(r"[0-9]+\)?")


def _phone(text: str, binary: bool) -> _Found:
    for match in (_PHONE_PACKED if binary else _PHONE).finditer(text):
        yield "phone", *match.span()
    if "+" not in text:
        return
    for match in (_PHONE_PLUS_PACKED if binary else _PHONE_PLUS).finditer(text):
        # E.164 has 8 to 15 digits: the groups up to the last that keeps it so (+82 10 1234 5678 2025 stops
        # before the year)
        digits, end = 0, None
        for group in _DIGIT_GROUP.finditer(match.group()):
            digits += len(group.group().rstrip(")"))
            if 8 <= digits <= 15:
                end = match.start() + group.end()
        if end is not None:
            yield "phone", match.start(), end


# --- ip -----------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4_ADDRESS = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4 = _re(rf"(?<![0-9A-Za-z.])({_IPV4_ADDRESS})(/[0-9]{{1,2}})?{_E}")
# (the lookaheads in front of the packed patterns only make them fail fast)
_IPV4_PACKED = _re(rf"(?=[0-9]{{1,3}}\.)(?<!\.)({_IPV4_ADDRESS})")
# a run of hex digits, colons and dots with a colon among its first five characters
_IPV6 = _re(r"(?<![0-9A-Za-z:.])(?=[0-9A-Fa-f]{0,4}:)([0-9A-Fa-f:.]{2,45})(%[0-9A-Za-z_.-]{1,32})?(/[0-9]{1,3})?")
# packed, an address may follow a letter that is no hex digit (`desktop2001:db8::1`) and be followed by any
# letter (`2001:db8::2adesktop` is found as `2001:db8::2ade`)
_IPV6_PACKED = _re(r"(?<![0-9A-Fa-f:.])(?=[0-9A-Fa-f]{0,4}:)([0-9A-Fa-f:.]{2,45})")
_IPV6_END = _re(r"(?![0-9A-Za-z:])(?!\.[0-9A-Za-z])")
# random bytes spell `::9A3`: in bytes an IPv6 address needs this many hex digits (2001:db8::1 has 8)
_BYTE_IPV6_MIN_DIGITS = 6


def _is_ipv6(candidate: str) -> bool:
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _ip(text: str, binary: bool) -> _Found:
    if "." in text:
        for match in (_IPV4_PACKED if binary else _IPV4).finditer(text):
            prefix = None if binary else match.group(2)
            # an impossible prefix (10.0.0.0/123) is not part of the address
            yield "ip", match.start(), match.end(2) if prefix and int(prefix[1:]) <= 32 else match.end(1)
    if ":" not in text:
        return
    if binary:
        yield from _ipv6_packed(text)
        return
    for match in _IPV6.finditer(text):
        start, core = match.start(), match.group(1)
        # a sentence may end right after the address: 2001:db8::1.
        address = core.rstrip(".")
        if not _is_ipv6(address):
            continue
        if binary and sum(char not in ":." for char in address) < _BYTE_IPV6_MIN_DIGITS:
            continue
        # longest first: with zone and prefix (fe80::1%eth0/64), with zone, the address alone
        ends = [start + len(address)]
        zone, prefix = match.group(2), match.group(3)
        if address == core and (not zone or _is_ipv6(core + zone)):
            if zone:
                ends.insert(0, match.end(2))
            if prefix and int(prefix[1:]) <= 128:
                ends.insert(0, match.end(3))
        for end in ends:
            if _IPV6_END.match(text, end):
                yield "ip", start, end
                break


def _ipv6_packed(text: str) -> _Found:
    for match in _IPV6_PACKED.finditer(text):
        # the whole run or nothing: cut shorter, two MAC addresses side by side would read as one IPv6
        address = match.group(1).rstrip(".")
        if _is_ipv6(address) and sum(char not in ":." for char in address) >= _BYTE_IPV6_MIN_DIGITS:
            yield "ip", match.start(), match.start() + len(address)


# --- mac ----------------------------------------------------------------------

_MAC_ADDRESS = (
    r"(?<![0-9A-Za-z][-.:])"
    r"(?:[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})"
    r"(?![-.:][0-9A-Za-z])"
)
_MAC = _re(rf"{_B}{_MAC_ADDRESS}{_E}")
_MAC_PACKED = _re(rf"(?=[0-9A-Fa-f]{{2}}[-:]|[0-9A-Fa-f]{{4}}\.){_MAC_ADDRESS}")
_NO_DEVICE_MACS = ("000000000000", "ffffffffffff")


def _mac(text: str, binary: bool) -> _Found:
    for match in (_MAC_PACKED if binary else _MAC).finditer(text):
        # the all-zero and broadcast addresses name no device
        if re.sub(r"[-.:]", "", match.group()).lower() not in _NO_DEVICE_MACS:
            yield "mac", *match.span()


# --- url ----------------------------------------------------------------------

_URL_CHARS = r"[^\s<>\"'`{}|\\^]"
_SCHEME = r"(?:https?|ftp)://"
_URL_SCHEME = _re(rf"{_B}{_SCHEME}{_URL_CHARS}{{1,2048}}", re.IGNORECASE)
# packed, an address ends where the next one starts
_URL_SCHEME_PACKED = _re(rf"{_SCHEME}(?:(?!{_SCHEME}){_URL_CHARS}){{1,2048}}", re.IGNORECASE)
_URL_WWW_ADDRESS = (
    rf"www\.(?:{_LABEL}\.){{1,8}}{_TLD_SHAPE}(?![0-9A-Za-z@_-])(?::[0-9]{{1,5}})?(?:[/?#]{_URL_CHARS}{{0,2048}})?"
)
_URL_WWW = _re(rf"(?<![0-9A-Za-z.@_/-]){_URL_WWW_ADDRESS}", re.IGNORECASE)
_URL_WWW_PACKED = _re(rf"(?<![.@/]){_URL_WWW_ADDRESS}", re.IGNORECASE)
_URL_BARE = _re(
    rf"(?<![0-9A-Za-z.@_/-])((?:{_LABEL}\.){{1,8}}{_TLD_SHAPE})(?![0-9A-Za-z@_-])(?!\.[0-9A-Za-z])"
    rf"(?::[0-9]{{1,5}})?(?:[/?#]{_URL_CHARS}{{0,2048}})?"
)
_DOMAIN = _re(rf"(?:{_LABEL}\.)+{_TLD_SHAPE}")


def _trim_url(value: str) -> str:
    # sentence punctuation and an unmatched closing bracket are not part of the address
    while value:
        last = value[-1]
        unmatched = (last == ")" and value.count("(") < value.count(")")) or (
            last == "]" and value.count("[") < value.count("]")
        )
        if last not in ".,;:!?" and not unmatched:
            break
        value = value[:-1]
    return value


def _url_host_ok(url: str) -> bool:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return _DOMAIN.fullmatch(host) is not None
    return True


def _known_tld(domain: str) -> bool:
    labels = domain.lower().split(".")
    return labels[-1] in COMMON_TLDS or ".".join(labels[-2:]) in COMMON_TLDS


def _url(text: str, binary: bool) -> _Found:
    if "://" in text:
        for match in (_URL_SCHEME_PACKED if binary else _URL_SCHEME).finditer(text):
            value = _trim_url(match.group())
            if _url_host_ok(value):
                yield "url", match.start(), match.start() + len(value)
    if "www." in text.lower():
        for match in (_URL_WWW_PACKED if binary else _URL_WWW).finditer(text):
            yield "url", match.start(), match.start() + len(_trim_url(match.group()))
    if binary:
        return
    for match in _URL_BARE.finditer(text):
        if _known_tld(match.group(1)):
            yield "url", match.start(), match.start() + len(_trim_url(match.group()))


# --- Korean identifiers -------------------------------------------------------

# YYMMDD-GNNNNNN or 13 digits; G gives the century and, 1-4 or 5-8, resident or foreigner
_RESIDENT = _re(rf"{_B}{_NO_GROUP_BEFORE}([0-9]{{2}})([0-9]{{2}})([0-9]{{2}})-?([1-8])[0-9]{{6}}{_E}{_NO_GROUP_AFTER}")
# packed, only with its dash (the dash tells where the number starts)
_RESIDENT_PACKED = _re(r"([0-9]{2})([0-9]{2})([0-9]{2})-([1-8])[0-9]{6}")
_RESIDENT_CENTURY = {"1": 1900, "2": 1900, "3": 2000, "4": 2000, "5": 1900, "6": 1900, "7": 2000, "8": 2000}
_RESIDENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def _resident(text: str, binary: bool) -> _Found:
    for pattern in (_RESIDENT, _RESIDENT_PACKED) if binary else (_RESIDENT,):
        for match in pattern.finditer(text):
            year, month, day, gender = match.groups()
            if _valid_date(_RESIDENT_CENTURY[gender] + int(year), int(month), int(day)):
                yield "kr_rrn" if gender in "1234" else "kr_frn", *match.span()


def _resident_checksum_ok(digits: str, base: int) -> bool:
    number = digits.replace("-", "")
    if len(number) != 13 or not (number.isascii() and number.isdigit()):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number, _RESIDENT_WEIGHTS, strict=False))
    return int(number[7:9]) <= 95 and (base - total % 11) % 10 == int(number[12])


def rrn_checksum_ok(digits: str) -> bool:
    """Whether a resident registration number passes the pre-October-2020 check: region 00-95, check digit.

    The check is (11 - sum % 11) % 10 with weights 2-9, 2-5 over the first 12 digits. False does not
    clear a number: those issued since October 2020 carry no check digit.
    """
    return _resident_checksum_ok(digits, 11)


def frn_checksum_ok(digits: str) -> bool:
    """Whether a foreigner registration number passes the pre-October-2020 check: as an RRN, but (13 - sum % 11) % 10."""
    return _resident_checksum_ok(digits, 13)


# AA-BB-CCCCCC-DD: region AA is 11-26 or 28, one separator (dash, space or none) throughout
_REGION = r"(?:1[1-9]|2[0-6]|28)"
_DRIVER_LICENSE = _re(rf"{_B}{_NO_GROUP_BEFORE}{_REGION}([- ]?)[0-9]{{2}}\1[0-9]{{6}}\1[0-9]{{2}}{_E}{_NO_GROUP_AFTER}")
_DRIVER_LICENSE_PACKED = _re(rf"{_NO_GROUP_BEFORE}{_REGION}([- ])[0-9]{{2}}\1[0-9]{{6}}\1[0-9]{{2}}{_NO_GROUP_AFTER}")


def _kr_driver_license(text: str, binary: bool) -> _Found:
    for pattern in (_DRIVER_LICENSE, _DRIVER_LICENSE_PACKED) if binary else (_DRIVER_LICENSE,):
        for match in pattern.finditer(text):
            yield "kr_driver_license", *match.span()


# --- passport -----------------------------------------------------------------

_PASSPORT = _re(
    rf"{_B}(?:"
    # Korea: M123A4567 (since 2021) and M12345678, first letter M S R O D in either case;
    # United States: a capital letter and 8 digits
    rf"(?:[MSRODmsrod][0-9]{{3}}[A-Za-z][0-9]{{4}}|[MSRODmsrodA-Z][0-9]{{8}}){_E}"
    # United States, 9 digits: only as a token of its own, not a count in a file name, a version, a path
    r"|(?<![._/\\+-])[0-9]{9}(?![0-9A-Za-z_/\\-])(?!\.[0-9A-Za-z]))"
)


def _passport(text: str, binary: bool) -> _Found:
    for match in _PASSPORT.finditer(text):
        yield "passport", *match.span()


# --- card ---------------------------------------------------------------------

# groups of 4 (4-4-4-4, 4-4-4-4-3, ...) or 4-6-5 / 4-6-4 (Amex, Diners), one separator throughout
_CARD_GROUPED = (
    rf"{_NO_GROUP_BEFORE}(?:[0-9]{{4}}([ -])[0-9]{{4}}\1[0-9]{{4}}\1[0-9]{{1,4}}(\1[0-9]{{1,3}})?"
    rf"|[0-9]{{4}}([ -])[0-9]{{6}}\3[0-9]{{4,5}}){_NO_GROUP_AFTER}"
)
_CARD = _re(rf"{_B}(?:[0-9]{{13,19}}|{_CARD_GROUPED}){_E}")
_CARD_PACKED = _re(rf"(?=[0-9]{{4}}[ -]){_CARD_GROUPED}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _issuer_ok(digits: str) -> bool:
    # a known issuer prefix with one of its lengths: a Luhn-valid count or RRN is not a card by chance
    length, two, three, four = len(digits), int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return length in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:  # Mastercard
        return length == 16
    if two in (34, 37):  # American Express
        return length == 15
    if 300 <= three <= 305 or two in (36, 38, 39) or four == 3095:  # Diners Club
        return 14 <= length <= 19
    if 2200 <= four <= 2204 or 3528 <= four <= 3589:  # Mir, JCB
        return 16 <= length <= 19
    if digits[0] in "568":  # Maestro, Discover, UnionPay, RuPay, ...
        return 16 <= length <= 19
    if digits[0] == "1":  # UATP
        return length == 15
    if digits[0] == "9":  # Korean domestic-only cards (BC and others)
        return length == 16
    return False


def _card(text: str, binary: bool) -> _Found:
    for pattern in (_CARD, _CARD_PACKED) if binary else (_CARD,):
        for match in pattern.finditer(text):
            ends = [match.end()]
            # a short last group may be something else: 4111 1111 1111 1111 12/27
            if match.group(2):
                ends.append(match.start(2))
            for end in ends:
                digits = re.sub(r"[ -]", "", text[match.start() : end])
                if _issuer_ok(digits) and _luhn_ok(digits):
                    yield "card", match.start(), end
                    break


# --- user agent ---------------------------------------------------------------

# A browser's (Mozilla/5.0 (...), Opera/9.80 (...)), or any product/version with a comment (Googlebot/2.1 (+http...),
# Dalvik/2.1.0 (Linux; ...)), or a known script client's product/version alone (curl/8.5.0, python-requests/2.32.3).
_SCRIPT_CLIENTS = (
    "curl|Wget|python-requests|python-urllib3?|Python-urllib|Go-http-client|okhttp|Apache-HttpClient|libwww-perl|"
    "PostmanRuntime|axios|node-fetch|kube-probe|ELB-HealthChecker|HeadlessChrome|Scrapy"
)
_USER_AGENT = _re(
    r"(?<![0-9A-Za-z_.-])(?:"
    r"(?:Mozilla|Opera)/[0-9]+\.[0-9]+ \("
    r"|[A-Za-z][A-Za-z0-9_.-]{1,40}/[0-9]+\.[0-9][0-9A-Za-z.]* \([^()\x00-\x1f]{2,}"
    rf"|(?:{_SCRIPT_CLIENTS})/[0-9]+(?:\.[0-9]+)*{_E}"
    r')[^\x00-\x1f"]{0,512}'
)


def _user_agent(text: str, binary: bool) -> _Found:
    if "/" not in text:
        return
    for match in _USER_AGENT.finditer(text):
        yield "user_agent", match.start(), match.start() + len(match.group().rstrip())


# --- date ---------------------------------------------------------------------

_DATE_END = _E + _NO_DATE_PART_AFTER
_MONTH_NAMES = (
    ("jan", "january"),
    ("feb", "february"),
    ("mar", "march"),
    ("apr", "april"),
    ("may",),
    ("jun", "june"),
    ("jul", "july"),
    ("aug", "august"),
    ("sep", "sept", "september"),
    ("oct", "october"),
    ("nov", "november"),
    ("dec", "december"),
)
_MONTHS = {name: str(number) for number, names in enumerate(_MONTH_NAMES, start=1) for name in names}
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_TIME = r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
# year first: 2021-05-21, 2021.05.21, 2021/05/21, ISO date-times
_DATE_YMD = _re(rf"{_B}{_NO_DATE_PART_BEFORE}([0-9]{{4}})([-./])([0-9]{{1,2}})\2([0-9]{{1,2}}){_TIME}{_DATE_END}")
# year last, or a two-digit year anywhere: 5/20/2021, 21.5.2021, 05/21/21, 25.03.04
_DATE_NUMERIC = _re(
    rf"{_B}{_NO_DATE_PART_BEFORE}([0-9]{{1,2}})([-./])([0-9]{{1,2}})\2([0-9]{{4}}|[0-9]{{2}}){_DATE_END}"
)
# 20250304
_DATE_COMPACT = _re(rf"{_B}((?:19|20)[0-9]{{2}})(0[1-9]|1[0-2])([0-3][0-9]){_E}")
# 5-MAY-2021, 5 May 2021
_DATE_DAY_MONTH = _re(rf"{_B}([0-9]{{1,2}})([- ./]?){_MONTH}\2([0-9]{{4}}|[0-9]{{2}}){_DATE_END}", re.IGNORECASE)
# May-05-2021, May 5, 2021
_DATE_MONTH_DAY = _re(
    rf"{_B}{_MONTH}(?:([- ./])([0-9]{{1,2}})\2|[ ]([0-9]{{1,2}})(?:st|nd|rd|th)?,?[ ])([0-9]{{4}}){_DATE_END}",
    re.IGNORECASE,
)
# 2025년 3월 4일
_DATE_KOREAN = _re(r"(?<![0-9])([0-9]{4}|[0-9]{2})\s*년\s*([0-9]{1,2})\s*월\s*([0-9]{1,2})\s*일")


def _full_years(year: str) -> list[int]:
    if len(year) == 4:
        return [int(year)] if 1900 <= int(year) <= 2099 else []
    return [1900 + int(year), 2000 + int(year)]


def _any_valid(*readings: tuple[str, str, str]) -> bool:
    """Whether any (year, month, day) reading is a calendar date."""
    return any(_valid_date(year, int(month), int(day)) for raw, month, day in readings for year in _full_years(raw))


def _date(text: str, binary: bool) -> _Found:
    for match in _DATE_YMD.finditer(text):
        year, _, month, day = match.groups()
        if _any_valid((year, month, day)):
            yield "date", *match.span()
    for match in _DATE_NUMERIC.finditer(text):
        first, _, second, year = match.groups()
        # D/M/Y or M/D/Y; with a two-digit year also Y/M/D (25.03.04)
        readings = [(year, first, second), (year, second, first)]
        if len(year) == 2:
            readings.append((first.zfill(2), second, year))
        if _any_valid(*readings):
            yield "date", *match.span()
    for match in _DATE_COMPACT.finditer(text):
        if _any_valid(match.groups()):
            yield "date", *match.span()
    for match in _DATE_DAY_MONTH.finditer(text):
        day, _, month, year = match.groups()
        if _any_valid((year, _MONTHS[month.lower()], day)):
            yield "date", *match.span()
    for match in _DATE_MONTH_DAY.finditer(text):
        month, _, dashed_day, spaced_day, year = match.groups()
        if _any_valid((year, _MONTHS[month.lower()], dashed_day or spaced_day)):
            yield "date", *match.span()
    for match in _DATE_KOREAN.finditer(text):
        if _any_valid(match.groups()):
            yield "date", *match.span()


# --- scan ---------------------------------------------------------------------

# (the kinds a finder yields, the finder)
_FINDERS: tuple[tuple[tuple[str, ...], Callable[[str, bool], _Found]], ...] = (
    (("email",), _email),
    (("phone",), _phone),
    (("ip",), _ip),
    (("mac",), _mac),
    (("url",), _url),
    (("kr_rrn", "kr_frn"), _resident),
    (("kr_driver_license",), _kr_driver_license),
    (("passport",), _passport),
    (("card",), _card),
    (("user_agent",), _user_agent),
    (("date",), _date),
)


def _chosen(kinds: Iterable[str], allowed: tuple[str, ...]) -> frozenset[str]:
    if isinstance(kinds, str):
        raise TypeError("kinds is an iterable of kind names, not one string")
    chosen = frozenset(kinds)
    unknown = sorted(chosen - set(allowed))
    if unknown:
        raise ValueError(f"not a kind of this scan: {', '.join(unknown)} (kinds: {', '.join(allowed)})")
    return chosen


def _scan(text: str, kinds: frozenset[str], binary: bool) -> list[Match]:
    spans: dict[str, set[tuple[int, int]]] = {kind: set() for kind in kinds}
    for yields, finder in _FINDERS:
        if kinds.intersection(yields):
            for kind, start, end in finder(text, binary):
                if kind in spans:
                    spans[kind].add((start, end))
    found: list[Match] = []
    for kind, kind_spans in spans.items():
        # the shapes of one kind overlap (IPv4 in IPv6, a US in a Korean passport): keep the leftmost, longest
        last_end = -1
        for start, end in sorted(kind_spans, key=lambda span: (span[0], -span[1])):
            if start >= last_end:
                found.append(Match(kind, start, end, text[start:end]))
                last_end = end
    emails = [match for match in found if match.kind == "email"]
    if emails:
        # the domain of an email is not also a web address
        found = [
            match
            for match in found
            if match.kind != "url" or not any(email.start < match.end and match.start < email.end for email in emails)
        ]
    found.sort(key=lambda match: (match.start, match.end, _ORDER[match.kind]))
    return found


def scan_text(text: str, kinds: Iterable[str] = KINDS) -> list[Match]:
    """Every identifier of `kinds` in `text`, ordered by start; matches of different kinds may overlap."""
    return _scan(text, _chosen(kinds, KINDS), binary=False)


# Identifiers live in runs of printable ASCII (tab, CR and LF included) at least this long:
# the shortest is an IPv4 address such as 1.1.1.1.
_MIN_RUN = 7
_TEXT_RUN = re.compile(rb"[\t\n\r\x20-\x7e]{%d,}" % _MIN_RUN)
# Longer than any match (a URL stops at about 2.6 KB), so that a chunk sees whole every match that starts in it.
_OVERLAP = 8192


def scan_bytes(data: bytes, kinds: Iterable[str] = BYTE_KINDS, *, chunk: int = 1 << 24) -> Iterator[Match]:
    """Identifiers of `kinds` in raw bytes (the store file), in order, with offsets into `data`.

    Only ASCII identifiers are found, in runs of printable ASCII. `BYTE_KINDS` has no
    "date": a DATE column is stored as a number, so a date in the bytes is text, and
    cannot be told from the dates in the file names the batch log keeps. Strings that
    DuckDB packed back to back are found where their shape allows it, compressed ones
    are not (see the module docstring).

    `data` is read `chunk` bytes at a time, each chunk with `_OVERLAP` bytes of its
    neighbours on both sides; a chunk keeps the matches that start inside it, so a
    match across a chunk border is found once.
    """
    chosen = _chosen(kinds, BYTE_KINDS)
    if chunk < 1:
        raise ValueError("chunk must be at least one byte")
    view = memoryview(data).cast("B")
    for chunk_start in range(0, len(view), chunk):
        chunk_end = min(chunk_start + chunk, len(view))
        window_start = max(0, chunk_start - _OVERLAP)
        for run in _TEXT_RUN.finditer(view[window_start : min(len(view), chunk_end + _OVERLAP)]):
            run_start = window_start + run.start()
            if run_start >= chunk_end:
                break
            if window_start + run.end() <= chunk_start:
                continue
            for match in _scan(run.group().decode("ascii"), chosen, binary=True):
                if chunk_start <= run_start + match.start < chunk_end and _plausible_in_binary(match):
                    yield Match(match.kind, run_start + match.start, run_start + match.end, match.value)


# Compressed numbers (bit-packed, delta-coded) fill a store with runs of printable digits and
# punctuation: a shape without letters or separators, or a loose one, is noise there.
_KOREAN_PHONE_PREFIX = _re(r"(?:\+82[-. ]?)?0?(?:1[016789]|2|[3-6][1-5]|70|80)[-. )]")


def _plausible_in_binary(match: Match) -> bool:
    value = match.value
    if value.isdigit():
        return False
    separators = sum(value.count(c) for c in "-. ")
    if match.kind == "phone":
        return separators >= 2 and (value.startswith("+") or _KOREAN_PHONE_PREFIX.match(value) is not None)
    if match.kind == "passport":
        return any(c.isalpha() for c in value[1:])  # the new Korean form, M123A4567
    if match.kind == "mac":
        return "." not in value
    if match.kind == "ip" and ":" in value:
        return any(c in "abcdefABCDEF" for c in value) or "." in value
    return True


def redact(text: str, keep: Iterable[str] = ("date",)) -> str:
    """`text` with each identifier (of a kind not in `keep`) replaced by its kind in brackets: `[email]`."""
    kept = set(keep)
    parts, end = [], 0
    for match in scan_text(text, [kind for kind in KINDS if kind not in kept]):
        if match.start < end:
            continue  # overlapping matches of two kinds: the first one already covers it
        parts += [text[end : match.start], f"[{match.kind}]"]
        end = match.end
    return "".join(parts) + text[end:]


# --- mask ---------------------------------------------------------------------

_MASK_KEPT = frozenset("-.: @/")


def mask(value: str, kind: str) -> str:
    """`value` with every character but the first and the separators (- . : space @ /) as `*`.

    An email keeps only its first character and TLD (`h***@***.kr`), a URL its first
    character (`h***`). The result depends on nothing but the arguments.
    """
    if kind not in KINDS:
        raise ValueError(f"not a kind: {kind!r}")
    if not value:
        return ""
    if kind == "email" and ("@" in value or "%40" in value):
        domain = value.replace("%40", "@").rpartition("@")[2]
        tld = domain.rpartition(".")[2] if "." in domain else ""
        return f"{value[0]}***@***" + (f".{tld}" if tld else "")
    if kind == "url":
        return f"{value[0]}***"
    return value[0] + "".join(char if char in _MASK_KEPT else "*" for char in value[1:])
