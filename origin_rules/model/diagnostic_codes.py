"""Every diagnostic code, with a one-line title (docs/errors.md has a section for each).

ROO0xx: syntax (the file does not parse, or a literal is malformed).
ROO1xx: meaning (names, codes, countries, ranges, rule overlaps, scenario chains).
"""

TITLES: dict[str, str] = {
    # syntax
    "ROO000": "unreadable file",
    "ROO001": "unexpected token",
    "ROO002": "unexpected end of file",
    "ROO003": "unexpected character",
    "ROO004": "unclosed bracket",
    "ROO010": "malformed HS code",
    "ROO011": "percentage without `%`",
    "ROO012": "`=` used as a comparison",
    "ROO013": "invalid date",
    "ROO014": "unknown RVC method or price basis",
    "ROO015": "repeated clause",
    "ROO016": "unknown product figure",
    "ROO017": "malformed argument list",
    "ROO018": "unknown fact in `when`",
    "ROO019": "invalid hs_version",
    "ROO020": "unknown de minimis sub-limit",
    "ROO021": "unknown part of a material",
    "ROO022": "number of more than 40 decimal places or of 10^41 or more",
    # meaning
    "ROO101": "HS code not in HS 2022",
    "ROO102": "reversed range",
    "ROO103": "range mixes levels",
    "ROO104": "unknown country code",
    "ROO105": "percentage outside 0-100",
    "ROO106": "two rules of equal specificity cover one code",
    "ROO107": "overlapping date ranges",
    "ROO108": "rule without `when` is not the last of its selector",
    "ROO109": "unknown set name",
    "ROO110": "set of the wrong kind",
    "ROO111": "scenario extends an unknown agreement or scenario",
    "ROO112": "cyclic scenario chain",
    "ROO113": "duplicate name",
    "ROO114": "unused set",
    "ROO115": "agreement without parties",
    "ROO116": "repeated declaration",
    "ROO117": "`until` before `from`",
    "ROO118": "rule outside the agreement's effective date",
    "ROO119": "unknown material kind",
    "ROO120": "set defined in terms of itself",
    "ROO121": "country listed twice",
    "ROO122": "unsupported HS edition",
    "ROO123": "`except more than one of` with a single group",
    "ROO124": "de minimis share of a figure of the other measure",
    "ROO125": "part of a material weighed where it cannot be",
    "ROO126": "`and`/`or`/`not` nested too deeply",
}
