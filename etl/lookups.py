"""Spellings people and the back office use, mapped to the store's codes.

Each table is a plain dict from a normalized spelling (see `normalize_key`)
to a code; the load joins them in SQL, so the SQL key expression and
`normalize_key` must agree.
"""

from __future__ import annotations

from functools import cache

import pycountry

from contract import COUNTRY_SHORT_NAMES, FEATURES, GENDERS, UNKNOWN, korean_country_name


def normalize_key(value: str) -> str:
    """The lookup key of a raw value: trimmed, lower case, single spaces.

    Mirrors the SQL macro `lookup_key` (KEY_MACRO_SQL), which is what runs on real data.
    """
    return " ".join(value.split()).lower()


# The characters str.split() splits on, as an RE2 class, so that the SQL key
# collapses the same runs (a no-break or ideographic space too) as normalize_key.
_WHITESPACE_RUN = (
    r"[\t\n\x{0b}\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+"
)
KEY_MACRO_SQL = f"create macro lookup_key(value) as lower(trim(regexp_replace(value, '{_WHITESPACE_RUN}', ' ', 'g')))"


FEATURE_SPELLINGS: dict[str, str] = {
    "free_estimate": "free_estimate",
    "free estimate": "free_estimate",
    "free-estimate": "free_estimate",
    "freeestimate": "free_estimate",
    "estimate": "free_estimate",
    "무료견적": "free_estimate",
    "무료 견적": "free_estimate",
    "self_diagnosis": "self_diagnosis",
    "self diagnosis": "self_diagnosis",
    "self-diagnosis": "self_diagnosis",
    "selfdiagnosis": "self_diagnosis",
    "자가진단": "self_diagnosis",
    "자가 진단": "self_diagnosis",
    "coupon": "coupon",
    "coupons": "coupon",
    "쿠폰": "coupon",
}

GENDER_SPELLINGS: dict[str, str] = {
    "f": "female",
    "female": "female",
    "woman": "female",
    "w": "female",
    "여": "female",
    "여성": "female",
    "여자": "female",
    "m": "male",
    "male": "male",
    "man": "male",
    "남": "male",
    "남성": "male",
    "남자": "male",
    "o": "other",
    "x": "other",
    "other": "other",
    "non-binary": "other",
    "nonbinary": "other",
    "기타": "other",
}

# Names people type that neither ISO 3166 nor its Korean translation spell out, as they type them
# (the demo generator writes them; the load matches them by normalize_key).
COUNTRY_ALIASES: dict[str, str] = {
    "USA": "US",
    "U.S.": "US",
    "U.S.A.": "US",
    "America": "US",
    "United States of America": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Great Britain": "GB",
    "Britain": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Russia": "RU",
    "Vietnam": "VN",
    "South Korea": "KR",
    "Korea": "KR",
    "Republic of Korea": "KR",
    "North Korea": "KP",
    "Taiwan": "TW",
    "Hong Kong SAR": "HK",
    "Macau": "MO",
    "Macao SAR": "MO",
    "Iran": "IR",
    "Laos": "LA",
    "Syria": "SY",
    "Moldova": "MD",
    "Bolivia": "BO",
    "Venezuela": "VE",
    "Tanzania": "TZ",
    "Czech Republic": "CZ",
    "Turkey": "TR",
    "türkiye": "TR",
    "UAE": "AE",
    "Brunei": "BN",
    "Micronesia": "FM",
    "Palestine": "PS",
    "Vatican": "VA",
    "Ivory Coast": "CI",
    "Cape Verde": "CV",
    "Holland": "NL",
    "한국": "KR",
    "대한민국": "KR",
    "남한": "KR",
    "북한": "KP",
    "러시아": "RU",
    "미국": "US",
    "영국": "GB",
    "대만": "TW",
    "타이완": "TW",
    "마카오": "MO",
    "베트남": "VN",
    "몽골": "MN",
    "중국": "CN",
    "일본": "JP",
    "태국": "TH",
    "필리핀": "PH",
    "인도네시아": "ID",
    "말레이시아": "MY",
    "싱가포르": "SG",
    "캐나다": "CA",
    "호주": "AU",
    "오스트레일리아": "AU",
    "뉴질랜드": "NZ",
    "독일": "DE",
    "프랑스": "FR",
    "카자흐스탄": "KZ",
    "우즈베키스탄": "UZ",
    "키르기스스탄": "KG",
    "아랍에미리트": "AE",
    "사우디아라비아": "SA",
    "이란": "IR",
    "인도": "IN",
}


@cache
def country_spellings() -> dict[str, str]:
    """Every spelling we recognize (codes, English and Korean names, aliases) -> alpha-2."""
    spellings: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = [country.alpha_2, country.alpha_3, country.name]
        names += [getattr(country, attr) for attr in ("common_name", "official_name") if hasattr(country, attr)]
        names += [korean_country_name(code), *(short[code] for short in COUNTRY_SHORT_NAMES.values() if code in short)]
        for name in names:
            spellings.setdefault(normalize_key(name), code)
    # Aliases win over generated names: they are what people actually mean.
    spellings.update({normalize_key(alias): code for alias, code in COUNTRY_ALIASES.items()})
    return spellings


def lookup_tables() -> dict[str, dict[str, str]]:
    """The lookup tables the staging SQL joins, by table name."""
    assert set(FEATURE_SPELLINGS.values()) == set(FEATURES)
    assert set(GENDER_SPELLINGS.values()) <= set(GENDERS) - {UNKNOWN}
    return {
        "feature_lookup": FEATURE_SPELLINGS,
        "gender_lookup": GENDER_SPELLINGS,
        "country_lookup": country_spellings(),
    }
