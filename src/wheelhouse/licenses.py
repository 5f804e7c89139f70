"""Each package's license as an SPDX expression where one can honestly be derived.

Core metadata declares a license in three places, read in this order:

1. `License-Expression` (PEP 639): already SPDX, only canonicalized;
2. the free-text `License` field: an SPDX expression, a common short name from a small
   table, or a full license text recognized by its distinctive sentences;
3. the `License ::` trove classifiers, through a table of the real ones.

The first source that yields an expression wins; a source that is absent, invalid or
ambiguous hands over to the next, so a bare "GPL" in `License` is settled by a classifier
that names the version, if there is one.

Never guess: a value that does not say which license it means ("BSD", "GPL", "Apache",
"License :: OSI Approved :: BSD License", a text mixing several licenses) yields no
expression, and the answer is `unknown`. The raw declared values are always kept, so a
human reviewing the wheelhouse still sees what the package said.

All of it reads METADATA from untrusted wheels: nothing here raises on any string, and
every pattern is linear, so a hostile 100 KB field costs milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

if TYPE_CHECKING:
    from wheelhouse.wheelfile import Metadata

UNKNOWN = "unknown"
TEXT_LIMIT = 4000
_TRUNCATED = "…[truncated]"
_SOURCES = ("License-Expression", "License", "classifiers", "none")
_CLASSIFIER_PREFIX = "License ::"
_SHORT = 200  # longer than this, a License value or a classifier is no name in a table
_EXPRESSION_LIMIT = 4000  # real expressions are far shorter; beyond, don't parse at all


@dataclass(frozen=True)
class LicenseFacts:
    """What a package declares about its license, and the SPDX expression read from it."""

    expression: str | None
    text: str | None
    classifiers: tuple[str, ...]
    spdx: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"expression": self.expression, "text": self.text,
                "classifiers": list(self.classifiers), "spdx": self.spdx,
                "source": self.source}

    @classmethod
    def from_json(cls, raw: object) -> LicenseFacts | None:
        """Facts read back from a manifest anyone may have edited: None unless well formed."""
        if not isinstance(raw, dict) or any(key not in raw for key in _JSON_KEYS):
            return None
        expression, text = raw["expression"], raw["text"]
        classifiers, spdx, source = raw["classifiers"], raw["spdx"], raw["source"]
        if not (expression is None or isinstance(expression, str)):
            return None
        if not (text is None or (isinstance(text, str)
                                 and len(text) <= TEXT_LIMIT + len(_TRUNCATED))):
            return None
        if not isinstance(classifiers, list) or not all(
                isinstance(item, str) and item.startswith(_CLASSIFIER_PREFIX)
                for item in classifiers) or len(set(classifiers)) != len(classifiers):
            return None
        if not isinstance(spdx, str) or not isinstance(source, str) or source not in _SOURCES:
            return None
        if (source == "none") != (spdx == UNKNOWN):
            return None
        if spdx != UNKNOWN and _canonical(spdx) != spdx:
            return None
        return cls(expression=expression, text=text, classifiers=tuple(classifiers),
                   spdx=spdx, source=source)


_JSON_KEYS = ("expression", "text", "classifiers", "spdx", "source")


def license_facts(expression: str | None, text: str | None,
                  classifiers: Iterable[str]) -> LicenseFacts:
    """Read the three declarations in precedence order; the first honest answer wins."""
    declared = expression.strip() if isinstance(expression, str) else None
    declared = declared or None
    license_text = text if isinstance(text, str) else None
    kept = _license_classifiers(classifiers)
    spdx, source = (_canonical(declared) if declared else None), "License-Expression"
    if spdx is None and license_text is not None:
        spdx, source = spdx_of_text(license_text), "License"
    if spdx is None:
        spdx, source = spdx_of_classifiers(kept), "classifiers"
    if spdx is None:
        spdx, source = UNKNOWN, "none"
    if license_text is not None and len(license_text) > TEXT_LIMIT:
        license_text = license_text[:TEXT_LIMIT] + _TRUNCATED
    return LicenseFacts(expression=declared, text=license_text, classifiers=kept,
                        spdx=spdx, source=source)


def _canonical(expression: str) -> str | None:
    """packaging's canonical form, or None: invalid, absurdly long, or not a fixed point."""
    if len(expression) > _EXPRESSION_LIMIT:
        return None
    try:
        canonical = str(canonicalize_license_expression(expression))
        again = str(canonicalize_license_expression(canonical))
    except (InvalidLicenseExpression, ValueError, RecursionError):
        return None
    return canonical if again == canonical else None


# --- the License field ----------------------------------------------------------------

_NOT_WORD = re.compile(r"[^a-z0-9.+]+")
_VERSION_V = re.compile(r"(?<![0-9.])v(?=[0-9])")  # "GPLv3", "v2.0": the v says nothing
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=[0-9])")  # "GPL3", "MPL2": split the version off
_ZERO_MINOR = re.compile(r"(?<=[0-9])(?:\.0)+(?![0-9.])")  # "2.0", "2": the same version
_LATER = (" or any later", " or later", " or newer", " or greater", " or above", " and later")
_FILLER = frozenset({"the", "version", "only"})


def _normalized(value: str) -> str:
    """The table key of a short free-text license name: case, punctuation, "v" and ".0"
    spellings and "or later" (as "+") folded, so one key covers the usual variants."""
    value = value.casefold().replace("licence", "license")
    value = _NOT_WORD.sub(" ", value)
    value = _VERSION_V.sub(" ", value)
    value = _LETTER_DIGIT.sub(" ", value)
    value = _ZERO_MINOR.sub("", value)
    words = (word.strip(".") for word in value.split())
    value = " ".join(word for word in words if word and word not in _FILLER)
    for later in _LATER:
        value = value.replace(later, "+")
    return value


# Values that declare nothing at all (normalized).
_NOTHING = frozenset({"", "unknown", "none", "n a", "na", "null", "not specified",
                      "unspecified", "undefined", "tbd"})


def _gnu_names() -> dict[str, str]:
    """The GNU licenses' usual short names: only a version says which license, and a bare
    version is that version only ("GPLv2" is GPL-2.0-only); "+" or "or later" says more."""
    spellings = (
        ("GPL", ("2", "3"), ("gpl", "gnu gpl", "gnu general public license")),
        ("LGPL", ("2", "2.1", "3"), ("lgpl", "gnu lgpl", "gnu lesser general public license")),
        ("LGPL", ("2",), ("gnu library general public license",)),  # LGPL's name until 2.1
        ("AGPL", ("3",), ("agpl", "gnu agpl", "gnu affero general public license")),
    )
    names: dict[str, str] = {}
    for family, versions, names_of_family in spellings:
        for version in versions:
            spdx_version = version if "." in version else f"{version}.0"
            for name in names_of_family:
                names[f"{name} {version}"] = f"{family}-{spdx_version}-only"
                names[f"{name} {version}+"] = f"{family}-{spdx_version}-or-later"
    return names


# Common free-text License values, keyed by `_normalized`. Only names that say exactly
# which license they mean: no "BSD", "GPL", "Apache" without a version.
_TEXT_NAMES: dict[str, str] = {
    "mit": "MIT",
    "mit license": "MIT",
    "mit license mit": "MIT",  # "The MIT License (MIT)"
    "expat": "MIT",
    "expat license": "MIT",
    "apache 2": "Apache-2.0",
    "apache 2 license": "Apache-2.0",
    "apache license 2": "Apache-2.0",
    "apache software license 2": "Apache-2.0",
    "asl 2": "Apache-2.0",
    "bsd 3": "BSD-3-Clause",
    "bsd 3 clause": "BSD-3-Clause",
    "bsd 3 clause license": "BSD-3-Clause",
    "3 clause bsd": "BSD-3-Clause",
    "3 clause bsd license": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "modified bsd license": "BSD-3-Clause",
    "revised bsd": "BSD-3-Clause",
    "revised bsd license": "BSD-3-Clause",
    "bsd 2": "BSD-2-Clause",
    "bsd 2 clause": "BSD-2-Clause",
    "bsd 2 clause license": "BSD-2-Clause",
    "2 clause bsd": "BSD-2-Clause",
    "2 clause bsd license": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "simplified bsd license": "BSD-2-Clause",
    "isc": "ISC",
    "isc license": "ISC",
    "isc license iscl": "ISC",
    "iscl": "ISC",
    "mpl 2": "MPL-2.0",
    "mozilla public license 2": "MPL-2.0",
    "mozilla public license 2 mpl 2": "MPL-2.0",
    "mpl 1.1": "MPL-1.1",
    "mozilla public license 1.1": "MPL-1.1",
    "psf": "PSF-2.0",
    "psfl": "PSF-2.0",
    "psf license": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "unlicense": "Unlicense",
    "cc 0": "CC0-1.0",
    "cc 0 1": "CC0-1.0",
    "cc 0 1 universal": "CC0-1.0",
    "zlib license": "Zlib",
    "zlib libpng": "Zlib",
    "boost software license": "BSL-1.0",
    "boost software license 1": "BSL-1.0",
    "bsl 1": "BSL-1.0",
    "epl 1": "EPL-1.0",
    "eclipse public license 1": "EPL-1.0",
    "epl 2": "EPL-2.0",
    "eclipse public license 2": "EPL-2.0",
    **_gnu_names(),
}


def spdx_of_text(text: str) -> str | None:
    """The License field as SPDX, or None when it does not say exactly which license."""
    if not isinstance(text, str):
        return None
    value = text.strip()
    if len(value) <= _SHORT:
        key = _normalized(value)
        if key in _NOTHING:
            return None
        if key in _TEXT_NAMES:
            return _TEXT_NAMES[key]
    # One line can be an expression; several are a text, read as a license body below.
    if len(value) <= _EXPRESSION_LIMIT and len(value.splitlines()) == 1:
        spdx = _canonical(value)
        if spdx is not None:
            return spdx
    return _spdx_of_body(value)


# --- full license texts ---------------------------------------------------------------

_MIT_GRANT = "permission is hereby granted, free of charge, to any person obtaining a copy"
_MIT_NOTICE = ("the above copyright notice and this permission notice shall be included in "
               "all copies or substantial portions of the software")
_X11_CLAUSE = "except as contained in this notice"
# ISC's grant; its first text (still OpenBSD's) says "and distribute", the current "and/or".
_ISC_GRANTS = tuple(f"permission to use, copy, modify, {verb} this software for any purpose "
                    "with or without fee is hereby granted"
                    for verb in ("and/or distribute", "and distribute"))
_ISC_NOTICE = ("provided that the above copyright notice and this permission notice appear "
               "in all copies")
_APACHE_TITLES = ("apache license, version 2.0", "apache license version 2.0")
_BSD_GRANT = "redistribution and use in source and binary forms"
_BSD_SOURCE = "redistributions of source code must retain"
_BSD_BINARY = "redistributions in binary form must reproduce"
_BSD_NAME = "neither the name"
_BSD_START = "following conditions are met"
_BSD_END = "this software is provided"
# Words that turn a BSD text into another license: BSD-4-Clause, -Clear, -No-Nuclear...
_BSD_OTHERS = frozenset({"advertising", "patent", "patents", "nuclear"})
# A numbered or bulleted condition: "1.", "(2)", "3)", "*", "-" (whitespace is collapsed).
_ITEM = re.compile(r"(?:^| )(?:\(?[1-9][.)]|[*\u2022-])(?= )")
_WORD = re.compile(r"[a-z0-9]+")

# Words and phrases that name a license family. A text naming two families (a dual license
# notice, a project text with its bundled libraries' licenses after it) is no one license.
_OTHER = "other"
_FAMILY_WORDS: dict[str, str] = {
    "mit": "MIT", "expat": "MIT", "isc": "ISC", "iscl": "ISC", "bsd": "BSD",
    "apache": "Apache",
    **dict.fromkeys((
        "gpl", "lgpl", "agpl", "gplv2", "gplv3", "lgplv2", "lgplv3", "agplv3", "gnu", "mpl",
        "mozilla", "eclipse", "epl", "cddl", "psf", "cc0", "unlicense", "zlib", "wtfpl", "eupl",
        "artistic", "boost", "0bsd", "cecill", "zope", "x11", "openssl", "ssleay", "hpnd",
        "postgresql", "ncsa", "upl", "osl", "afl"), _OTHER),
}
_FAMILY_PHRASES: dict[str, str] = {
    "permission is hereby granted, free of charge": "MIT",
    **dict.fromkeys(_ISC_GRANTS, "ISC"),
    _BSD_GRANT: "BSD",
    "apache license": "Apache",
    # HPND and its kin grant "...this software and its documentation for any purpose..."
    "and distribute this software and its documentation": _OTHER,
    "general public license": _OTHER,
    "public domain": _OTHER,
    "creative commons": _OTHER,
    "python software foundation": _OTHER,
    "this notice may not be removed or altered": _OTHER,  # zlib
    "free and unencumbered software": _OTHER,  # Unlicense
}


def _spdx_of_body(text: str) -> str | None:
    """A full license text recognized by the sentences only its license has; anything that
    also names another license, or repeats its grant, is not recognized."""
    flat = " ".join(text.casefold().split())
    words = set(_WORD.findall(flat))
    families = {family for word, family in _FAMILY_WORDS.items() if word in words}
    families.update(family for phrase, family in _FAMILY_PHRASES.items() if phrase in flat)
    if len(families) != 1:
        return None
    family = families.pop()
    if family == "MIT":
        if (flat.count(_MIT_GRANT) == 1 and _MIT_NOTICE in flat
                and _X11_CLAUSE not in flat):
            return "MIT"
    elif family == "ISC":
        if sum(flat.count(grant) for grant in _ISC_GRANTS) == 1 and _ISC_NOTICE in flat:
            return "ISC"
    elif family == "Apache":
        if any(title in flat for title in _APACHE_TITLES):
            return "Apache-2.0"
    elif family == "BSD":
        return _bsd_clauses(flat, words)
    return None


def _bsd_clauses(flat: str, words: set[str]) -> str | None:
    """BSD-3-Clause or BSD-2-Clause, told apart by their conditions; other BSDs: None."""
    if (flat.count(_BSD_GRANT) != 1 or _BSD_SOURCE not in flat or _BSD_BINARY not in flat
            or words & _BSD_OTHERS):
        return None
    start = flat.find(_BSD_START)
    start = flat.find(_BSD_GRANT) if start < 0 else start
    end = flat.find(_BSD_END, start)
    conditions = flat[start:end if end >= 0 else len(flat)]
    if conditions.count("redistributions") != 2:  # a third such condition: another BSD
        return None
    items = len(_ITEM.findall(conditions))
    if _BSD_NAME in flat:
        return "BSD-3-Clause" if _BSD_NAME in conditions and items in (0, 3) else None
    return "BSD-2-Clause" if items == 2 else None


# --- classifiers ----------------------------------------------------------------------

# The real `License ::` trove classifiers (and two retired ones still found in old wheels),
# keyed by `_classifier_key`. Not here, so None: those that name no single SPDX license —
# no version ("BSD License", "GNU General Public License (GPL)", "Academic Free License
# (AFL)", "Artistic License", "Zope Public License"...), several SPDX versions ("W3C
# License", "Netscape Public License (NPL)"), or no SPDX license at all ("Public Domain",
# "Other/Proprietary License", "Freeware", "Repoze Public License"...).
_CLASSIFIERS: dict[str, str] = {
    "license :: cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0",
    "license :: cecill-b free software license agreement (cecill-b)": "CECILL-B",
    "license :: cecill-c free software license agreement (cecill-c)": "CECILL-C",
    "license :: nokia open source license (nokos)": "Nokia",
    "license :: osi approved :: apache software license": "Apache-2.0",
    "license :: osi approved :: attribution assurance license": "AAL",
    "license :: osi approved :: blue oak model license (blueoak-1.0.0)": "BlueOak-1.0.0",
    "license :: osi approved :: boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "license :: osi approved :: cea cnrs inria logiciel libre license, version 2.1 "
    "(cecill-2.1)": "CECILL-2.1",
    "license :: osi approved :: cmu license (mit-cmu)": "MIT-CMU",
    "license :: osi approved :: common development and distribution license 1.0 (cddl-1.0)":
        "CDDL-1.0",
    "license :: osi approved :: common public license": "CPL-1.0",  # 1.0 is the only one
    "license :: osi approved :: eclipse public license 1.0 (epl-1.0)": "EPL-1.0",
    "license :: osi approved :: eclipse public license 2.0 (epl-2.0)": "EPL-2.0",
    "license :: osi approved :: educational community license, version 2.0 (ecl-2.0)":
        "ECL-2.0",
    "license :: osi approved :: european union public licence 1.0 (eupl 1.0)": "EUPL-1.0",
    "license :: osi approved :: european union public licence 1.1 (eupl 1.1)": "EUPL-1.1",
    "license :: osi approved :: european union public licence 1.2 (eupl 1.2)": "EUPL-1.2",
    "license :: osi approved :: gnu affero general public license v3": "AGPL-3.0-only",
    "license :: osi approved :: gnu affero general public license v3 or later (agplv3+)":
        "AGPL-3.0-or-later",
    "license :: osi approved :: gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "license :: osi approved :: gnu general public license v2 or later (gplv2+)":
        "GPL-2.0-or-later",
    "license :: osi approved :: gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "license :: osi approved :: gnu general public license v3 or later (gplv3+)":
        "GPL-3.0-or-later",
    # Not the LGPL "v2" ones: there is no classifier for LGPL 2.1, so 2.1 projects (chardet)
    # use them; whether 2.0 or 2.1 is meant, they do not say.
    "license :: osi approved :: gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "license :: osi approved :: gnu lesser general public license v3 or later (lgplv3+)":
        "LGPL-3.0-or-later",
    "license :: osi approved :: historical permission notice and disclaimer (hpnd)": "HPND",
    "license :: osi approved :: ibm public license": "IPL-1.0",  # 1.0 is the only one
    "license :: osi approved :: intel open source license": "Intel",  # retired classifier
    "license :: osi approved :: isc license (iscl)": "ISC",
    "license :: osi approved :: mit license": "MIT",
    "license :: osi approved :: mit no attribution license (mit-0)": "MIT-0",
    "license :: osi approved :: miros license (miros)": "MirOS",
    "license :: osi approved :: motosoto license": "Motosoto",
    "license :: osi approved :: mozilla public license 1.0 (mpl)": "MPL-1.0",
    "license :: osi approved :: mozilla public license 1.1 (mpl 1.1)": "MPL-1.1",
    "license :: osi approved :: mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "license :: osi approved :: mulan permissive software license v2 (mulanpsl-2.0)":
        "MulanPSL-2.0",
    "license :: osi approved :: nasa open source agreement v1.3 (nasa-1.3)": "NASA-1.3",
    "license :: osi approved :: nethack general public license": "NGPL",
    "license :: osi approved :: nokia open source license": "Nokia",
    "license :: osi approved :: open group test suite license": "OGTSL",
    "license :: osi approved :: open software license 3.0 (osl-3.0)": "OSL-3.0",
    "license :: osi approved :: postgresql license": "PostgreSQL",
    "license :: osi approved :: python license (cnri python license)": "CNRI-Python",
    "license :: osi approved :: python software foundation license": "PSF-2.0",
    "license :: osi approved :: qt public license (qpl)": "QPL-1.0",  # 1.0 is the only one
    "license :: osi approved :: ricoh source code public license": "RSCPL",
    "license :: osi approved :: sil open font license 1.1 (ofl-1.1)": "OFL-1.1",
    "license :: osi approved :: sleepycat license": "Sleepycat",
    "license :: osi approved :: sun public license": "SPL-1.0",  # 1.0 is the only one
    "license :: osi approved :: the unlicense (unlicense)": "Unlicense",
    "license :: osi approved :: universal permissive license (upl)": "UPL-1.0",
    "license :: osi approved :: university of illinois/ncsa open source license": "NCSA",
    "license :: osi approved :: vovida software license 1.0": "VSL-1.0",
    "license :: osi approved :: x.net license": "Xnet",  # retired classifier
    "license :: osi approved :: zero-clause bsd (0bsd)": "0BSD",
    "license :: osi approved :: zlib/libpng license": "Zlib",
}


def _classifier_key(classifier: str) -> str:
    """The table key of a classifier: case and the spacing around "::" folded."""
    parts = (" ".join(part.split()) for part in classifier.split("::"))
    return " :: ".join(part for part in parts if part).casefold()


def _license_classifiers(classifiers: Iterable[str]) -> tuple[str, ...]:
    """The license classifiers among all of a package's, in order, each once."""
    kept: dict[str, None] = {}
    for classifier in classifiers:
        if isinstance(classifier, str):
            classifier = classifier.strip()
            if classifier.startswith(_CLASSIFIER_PREFIX):
                kept[classifier] = None
    return tuple(kept)


def spdx_of_classifiers(classifiers: Iterable[str]) -> str | None:
    """The license classifiers as SPDX, or None if any of them names no single license."""
    declared = _license_classifiers(classifiers)
    if not declared or any(len(classifier) > _SHORT for classifier in declared):
        return None
    keys = {_classifier_key(classifier) for classifier in declared}
    # A category ("License :: OSI Approved") listed beside one of its own classifiers adds
    # nothing: it is no second license.
    parents: set[str] = set()
    for key in keys:
        at = key.find(" :: ")
        while at >= 0:
            parents.add(key[:at])
            at = key.find(" :: ", at + 4)
    named = [key for key in keys if key not in parents]
    if not all(key in _CLASSIFIERS for key in named):
        return None
    # Convention, not a rule of the metadata: a project listing several license classifiers
    # is taken to be dual (multi) licensed, so they are joined with OR — which is how
    # dual-licensed projects use them, since classifiers cannot say AND.
    return _canonical(" OR ".join(sorted({_CLASSIFIERS[key] for key in named})))


def declared_by(metadata: Metadata | None) -> LicenseFacts:
    """What a file's metadata declares (no metadata: nothing, so unknown)."""
    if metadata is None:
        return license_facts(None, None, ())
    return license_facts(metadata.license_expression, metadata.license_text,
                         metadata.classifiers)


def declared_line(expression: str | None, text: str | None,
                  classifiers: Sequence[str]) -> str | None:
    """The declared license in one line, for people: the expression, else the License field's
    first line, else the classifiers."""
    if expression:
        return expression
    if text and text.strip():
        return text.strip().splitlines()[0][:200]
    return "; ".join(classifiers) or None
