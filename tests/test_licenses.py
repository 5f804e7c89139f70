"""License facts from core metadata: SPDX where it can honestly be derived, `unknown` where
the declaration is ambiguous, and the raw values always kept."""

from __future__ import annotations

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.licenses import canonicalize_license_expression

from wheelhouse import licenses
from wheelhouse.licenses import (
    TEXT_LIMIT,
    UNKNOWN,
    LicenseFacts,
    license_facts,
    spdx_of_classifiers,
    spdx_of_text,
)

EXAMPLES = int(os.environ.get("WHEELHOUSE_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

OSI = "License :: OSI Approved :: "
MIT_CLASSIFIER = OSI + "MIT License"
APACHE_CLASSIFIER = OSI + "Apache Software License"
BSD_CLASSIFIER = OSI + "BSD License"

MIT_TEXT = """\
Copyright (c) 2010-2024 Benjamin Peterson

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

MIT_0_TEXT = """\
MIT No Attribution

Permission is hereby granted, free of charge, to any person
obtaining a copy of this software and associated documentation
files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use,
copy, modify, merge, publish, distribute, sublicense, and/or
sell copies of the Software, and to permit persons to whom the
Software is furnished to do so.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
"""

BSD_DISCLAIMER = """\
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
"AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
(INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

# numpy's LICENSE.txt: BSD-3-Clause with bulleted conditions.
NUMPY_TEXT = """\
Copyright (c) 2005-2023, NumPy Developers.
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are
met:

    * Redistributions of source code must retain the above copyright
       notice, this list of conditions and the following disclaimer.

    * Redistributions in binary form must reproduce the above
       copyright notice, this list of conditions and the following
       disclaimer in the documentation and/or other materials provided
       with the distribution.

    * Neither the name of the NumPy Developers nor the names of any
       contributors may be used to endorse or promote products derived
       from this software without specific prior written permission.

""" + BSD_DISCLAIMER

# What numpy's binary wheels put in License: the project's text, then bundled libraries'.
NUMPY_WHEEL_TEXT = NUMPY_TEXT + """
----

This binary distribution of NumPy also bundles the following software:

Name: GCC runtime library
Files: numpy.libs/libgfortran*.so
Description: dynamically linked to files compiled with gcc
Availability: https://gcc.gnu.org/git/?p=gcc.git;a=tree;f=libgfortran
License: GPL-3.0-with-GCC-exception
  Copyright (C) 2002-2017 Free Software Foundation, Inc.

                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007
"""

BSD_2_TEXT = """\
Copyright (c) Donald Stufft and individual contributors.
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

    1. Redistributions of source code must retain the above copyright notice,
       this list of conditions and the following disclaimer.

    2. Redistributions in binary form must reproduce the above copyright
       notice, this list of conditions and the following disclaimer in the
       documentation and/or other materials provided with the distribution.

""" + BSD_DISCLAIMER

BSD_3_NUMBERED_TEXT = """\
BSD 3-Clause License

Copyright (c) 2013-2024, Kim Davies and contributors.
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are
met:

1. Redistributions of source code must retain the above copyright
   notice, this list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright
   notice, this list of conditions and the following disclaimer in the
   documentation and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

""" + BSD_DISCLAIMER

BSD_4_TEXT = BSD_3_NUMBERED_TEXT.replace("3. Neither", """\
3. All advertising materials mentioning features or use of this software
   must display the following acknowledgement: This product includes
   software developed by the organization.

4. Neither""").replace("BSD 3-Clause License\n", "")

# The third condition in another wording: some call it BSD-3-Clause, SPDX does not.
BSD_AUTHOR_NAME_TEXT = BSD_3_NUMBERED_TEXT.replace(
    "Neither the name of the copyright holder nor the names of its\n   contributors may",
    "The name of the author may not").replace("BSD 3-Clause License\n", "")

BSD_3_CLEAR_TEXT = BSD_3_NUMBERED_TEXT.replace("BSD 3-Clause License\n", "").replace(
    BSD_DISCLAIMER, "NO EXPRESS OR IMPLIED LICENSES TO ANY PARTY'S PATENT RIGHTS ARE GRANTED "
                    "BY THIS LICENSE.\n" + BSD_DISCLAIMER)

ISC_TEXT = """\
ISC License

Copyright (c) 2004-2010 by Internet Systems Consortium, Inc. ("ISC")

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND ISC DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS.
"""

# resolvelib's LICENSE: ISC in its first ("and distribute") wording.
RESOLVELIB_TEXT = """\
Copyright (c) 2018, Tzu-ping Chung <uranusjr@gmail.com>

Permission to use, copy, modify, and distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
MERCHANTABILITY AND FITNESS.
"""

# 0BSD grants as ISC does, without the notice condition: not ISC.
ZERO_BSD_TEXT = """\
Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted.

THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES.
"""

HPND_TEXT = """\
Permission to use, copy, modify and distribute this software and its
documentation for any purpose and without fee is hereby granted,
provided that the above copyright notice appear in all copies and that
both that copyright notice and this permission notice appear in
supporting documentation.
"""

APACHE_NOTICE = """\
Copyright 2019 Kenneth Reitz

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0
"""

APACHE_HEADER = """\
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.
"""

APACHE_1_1_TEXT = """\
The Apache Software License, Version 1.1

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions
are met:

1. Redistributions of source code must retain the above copyright
   notice, this list of conditions and the following disclaimer.
"""

X11_TEXT = MIT_TEXT + """
Except as contained in this notice, the name of the X Consortium shall not be
used in advertising or otherwise to promote the sale, use or other dealings in
this Software without prior written authorization from the X Consortium.
"""

DUAL_NOTICE = """\
This project is licensed under either of

 * Apache License, Version 2.0
 * MIT license

at your option.
"""


# --- whole packages, as their METADATA declares them ---------------------------------

@pytest.mark.parametrize(("package", "expression", "text", "classifiers", "spdx", "source"), [
    ("requests 2.31", None, "Apache 2.0", [APACHE_CLASSIFIER], "Apache-2.0", "License"),
    ("requests 2.32", None, "Apache-2.0", [APACHE_CLASSIFIER], "Apache-2.0", "License"),
    ("attrs", "MIT", None, [], "MIT", "License-Expression"),
    ("cryptography 42", None, "Apache-2.0 OR BSD-3-Clause",
     [APACHE_CLASSIFIER, BSD_CLASSIFIER], "Apache-2.0 OR BSD-3-Clause", "License"),
    ("cryptography 44", "Apache-2.0 OR BSD-3-Clause", None, [],
     "Apache-2.0 OR BSD-3-Clause", "License-Expression"),
    ("six", None, "MIT", [MIT_CLASSIFIER], "MIT", "License"),
    ("pytz", None, "MIT", [MIT_CLASSIFIER], "MIT", "License"),
    ("certifi", None, "MPL-2.0", [OSI + "Mozilla Public License 2.0 (MPL 2.0)"],
     "MPL-2.0", "License"),
    ("typing_extensions 4.12", None, None, [OSI + "Python Software Foundation License"],
     "PSF-2.0", "classifiers"),
    ("typing_extensions 4.13", "PSF-2.0", None, [], "PSF-2.0", "License-Expression"),
    ("chardet", None, "LGPL",
     [OSI + "GNU Lesser General Public License v2 or later (LGPLv2+)"],
     UNKNOWN, "none"),  # it is 2.1-or-later; the "v2" classifier cannot say 2.0 or 2.1
    ("numpy sdist", None, NUMPY_TEXT, [BSD_CLASSIFIER], "BSD-3-Clause", "License"),
    ("numpy wheel", None, NUMPY_WHEEL_TEXT, [BSD_CLASSIFIER], UNKNOWN, "none"),
    ("semantic_version", None, "BSD", [BSD_CLASSIFIER], UNKNOWN, "none"),
    ("ply", None, "BSD", [], UNKNOWN, "none"),
    ("idna", None, "BSD-3-Clause", [BSD_CLASSIFIER], "BSD-3-Clause", "License"),
    ("click", None, "BSD 3-Clause", [BSD_CLASSIFIER], "BSD-3-Clause", "License"),
    ("python-dateutil", None, "Dual License", [BSD_CLASSIFIER, APACHE_CLASSIFIER],
     UNKNOWN, "none"),
    ("packaging 24", None, None, [APACHE_CLASSIFIER, BSD_CLASSIFIER], UNKNOWN, "none"),
    ("psycopg2", None, "LGPL with exceptions",
     [OSI + "GNU Library or Lesser General Public License (LGPL)"], UNKNOWN, "none"),
    ("docutils", None, "public domain, Python, 2-Clause BSD, GPL 3 (see COPYING.txt)",
     ["License :: Public Domain", OSI + "Python Software Foundation License", BSD_CLASSIFIER,
      OSI + "GNU General Public License (GPL)"], UNKNOWN, "none"),
    ("resolvelib", None, "ISC License", [OSI + "ISC License (ISCL)"], "ISC", "License"),
    ("isoduration", None, "UNKNOWN", [OSI + "ISC License (ISCL)"], "ISC", "classifiers"),
    ("setuptools 65", None, None, [MIT_CLASSIFIER], "MIT", "classifiers"),
    ("defusedxml", None, "PSFL", [OSI + "Python Software Foundation License"],
     "PSF-2.0", "License"),
    ("pathspec", None, None, [OSI + "Mozilla Public License 2.0 (MPL 2.0)"],
     "MPL-2.0", "classifiers"),
    ("pypiserver", None, "License\n=======\n\nsee LICENSE.txt",
     [BSD_CLASSIFIER, OSI + "zlib/libpng License"], UNKNOWN, "none"),
    ("pkginfo 1.x", None, None, [], UNKNOWN, "none"),
    ("cffi 2", "MIT-0", MIT_0_TEXT, [], "MIT-0", "License-Expression"),
    ("a GNU tool", None, "GPL", [OSI + "GNU General Public License v3 or later (GPLv3+)"],
     "GPL-3.0-or-later", "classifiers"),
])
def test_real_packages(package: str, expression: str | None, text: str | None,
                       classifiers: list[str], spdx: str, source: str) -> None:
    facts = license_facts(expression, text, classifiers)
    assert (facts.spdx, facts.source) == (spdx, source), package
    assert facts.expression == expression and facts.text == text  # the raw values, kept
    assert facts.classifiers == tuple(classifiers)


# --- the License field ----------------------------------------------------------------

@pytest.mark.parametrize(("text", "spdx"), [
    # already SPDX: canonicalized
    ("MIT", "MIT"),
    ("mit", "MIT"),
    ("Apache-2.0", "Apache-2.0"),
    ("BSD-3-Clause", "BSD-3-Clause"),
    ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
    ("mit and (apache-2.0 or bsd-2-clause)", "MIT AND (Apache-2.0 OR BSD-2-Clause)"),
    ("  MIT\n", "MIT"),
    ("GPL-2.0-only", "GPL-2.0-only"),
    ("LicenseRef-Proprietary", "LicenseRef-Proprietary"),
    (" AND ".join(["MIT", "BSD-3-Clause", "Apache-2.0", "Zlib"] * 20),  # long, but one line
     " AND ".join(["MIT", "BSD-3-Clause", "Apache-2.0", "Zlib"] * 20)),
    ("Apache-2.0\nOR MIT", None),  # several lines are a text, and no license body
    # the usual free-text names
    ("MIT License", "MIT"),
    ("MIT license", "MIT"),
    ("The MIT License (MIT)", "MIT"),
    ("MIT Licence", "MIT"),
    ("Expat", "MIT"),
    ("Apache 2.0", "Apache-2.0"),
    ("Apache 2", "Apache-2.0"),
    ("apache2", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("Apache License v2.0", "Apache-2.0"),
    ("Apache Software License 2.0", "Apache-2.0"),
    ("Apache Software License, Version 2.0", "Apache-2.0"),
    ("ASL 2", "Apache-2.0"),
    ("ASL 2.0", "Apache-2.0"),
    ("BSD 3-Clause", "BSD-3-Clause"),
    ("BSD-3", "BSD-3-Clause"),
    ("New BSD", "BSD-3-Clause"),
    ("new BSD License", "BSD-3-Clause"),
    ("Modified BSD", "BSD-3-Clause"),
    ("3-clause BSD", "BSD-3-Clause"),
    ("Revised BSD License", "BSD-3-Clause"),
    ("Simplified BSD", "BSD-2-Clause"),
    ("2-clause BSD", "BSD-2-Clause"),
    ("BSD 2-Clause License", "BSD-2-Clause"),
    ("ISC", "ISC"),
    ("ISC License", "ISC"),
    ("ISC License (ISCL)", "ISC"),
    ("MPL 2.0", "MPL-2.0"),
    ("MPL2", "MPL-2.0"),
    ("Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    ("PSF", "PSF-2.0"),
    ("PSF License", "PSF-2.0"),
    ("Python Software Foundation License", "PSF-2.0"),
    ("Unlicense", "Unlicense"),
    ("The Unlicense", "Unlicense"),
    ("CC0 1.0 Universal", "CC0-1.0"),
    ("zlib/libpng", "Zlib"),
    ("Boost Software License 1.0", "BSL-1.0"),
    ("EPL 2.0", "EPL-2.0"),
    # GNU: a version alone is that version only; "+" or "or later" says more
    ("GPLv2", "GPL-2.0-only"),
    ("GPLv2 only", "GPL-2.0-only"),
    ("GPL v2", "GPL-2.0-only"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPLv2+", "GPL-2.0-or-later"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPLv3", "GPL-3.0-only"),
    ("GPLv3+", "GPL-3.0-or-later"),
    ("GPL v3 or later", "GPL-3.0-or-later"),
    ("GPL-3.0-or-later", "GPL-3.0-or-later"),
    ("GNU GPL v3", "GPL-3.0-only"),
    ("GNU GPLv3+", "GPL-3.0-or-later"),
    ("GNU General Public License v2 or later", "GPL-2.0-or-later"),
    ("GPL version 2 or any later version", "GPL-2.0-or-later"),
    ("LGPLv3", "LGPL-3.0-only"),
    ("LGPLv3+", "LGPL-3.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL v2.1 or later", "LGPL-2.1-or-later"),
    ("GNU Lesser General Public License v3", "LGPL-3.0-only"),
    ("AGPLv3", "AGPL-3.0-only"),
    ("AGPL-3.0-or-later", "AGPL-3.0-or-later"),
    # nothing, or not one license: None
    ("", None),
    ("   ", None),
    ("UNKNOWN", None),
    ("None", None),
    ("n/a", None),
    ("N/A", None),
    ("Not specified", None),
    ("BSD", None),
    ("BSD License", None),
    ("BSD-like", None),
    ("GPL", None),
    ("GNU GPL", None),
    ("LGPL", None),
    ("AGPL", None),
    ("Apache", None),
    ("Apache Software License", None),
    ("Public Domain", None),
    ("Dual License", None),
    ("Proprietary", None),
    ("Commercial", None),
    ("Other/Proprietary License", None),
    ("MIT/Apache-2.0", None),
    ("Apache 2.0 or MIT", None),
    ("GPL 3.0 with exceptions", None),
    ("Apache 1.1", None),
    ("MIT\n\nSee LICENSE for details", None),
    ("see LICENSE file", None),
])
def test_license_field(text: str, spdx: str | None) -> None:
    assert spdx_of_text(text) == spdx


@pytest.mark.parametrize(("text", "spdx"), [
    (MIT_TEXT, "MIT"),
    ("MIT License\n\n" + MIT_TEXT, "MIT"),
    (MIT_TEXT.replace("\n", "\r\n"), "MIT"),
    (NUMPY_TEXT, "BSD-3-Clause"),
    (BSD_3_NUMBERED_TEXT, "BSD-3-Clause"),
    (BSD_2_TEXT, "BSD-2-Clause"),
    (ISC_TEXT, "ISC"),
    (RESOLVELIB_TEXT, "ISC"),
    (APACHE_NOTICE, "Apache-2.0"),
    (APACHE_HEADER, "Apache-2.0"),
    # other licenses that share a sentence with a recognized one
    (MIT_0_TEXT, None),
    (X11_TEXT, None),
    (ZERO_BSD_TEXT, None),
    (HPND_TEXT, None),
    (BSD_4_TEXT, None),
    (BSD_AUTHOR_NAME_TEXT, None),
    (BSD_3_CLEAR_TEXT, None),
    (APACHE_1_1_TEXT, None),
    # BSD-3's conditions and a fourth (BSD-3-Clause-Attribution): not BSD-3
    (BSD_3_NUMBERED_TEXT.replace("permission.\n", "permission.\n\n4. Redistributions of any "
                                 "form whatsoever must retain an acknowledgment.\n", 1), None),
    (BSD_3_NUMBERED_TEXT.replace("permission.\n", "permission.\n\n4. Modified versions "
                                 "must be plainly marked as such.\n", 1), None),
    # BSD-2's conditions, then a name clause outside them: not plainly BSD-2
    (BSD_2_TEXT + "\nNeither the name of the author may be used to endorse products.\n", None),
    # the same, its conditions not numbered
    (BSD_3_NUMBERED_TEXT.replace("1. ", "").replace("2. ", "").replace("3. ", ""),
     "BSD-3-Clause"),
    (BSD_3_NUMBERED_TEXT.replace("1. ", "").replace("2. ", "").replace("3. ", "").replace(
        "permission.\n", "permission.\n\nRedistributions of any form whatsoever must retain "
        "an acknowledgment.\n", 1), None),
    # BSD-2's conditions with a third one that is not "Neither the name": not BSD-2
    (BSD_2_TEXT.replace("distribution.\n", "distribution.\n\n    3. Be nice.\n", 1), None),
    # more than one license in one text: no one license
    (NUMPY_WHEEL_TEXT, None),
    (DUAL_NOTICE, None),
    (MIT_TEXT + "\n----\n\n" + BSD_2_TEXT, None),
    (MIT_TEXT + "\n----\n\n" + MIT_TEXT, None),
    (BSD_2_TEXT + "\n----\n\n" + BSD_3_NUMBERED_TEXT.replace("BSD 3-Clause License\n", ""),
     None),
    (APACHE_NOTICE + "\nPortions are MIT licensed, see MIT-LICENSE.txt\n", None),
    # a text that is no license
    ("This is free software; see the source for copying conditions.", None),
    ("Copyright (c) 2024 Someone\nAll rights reserved.\n", None),
])
def test_license_text_bodies(text: str, spdx: str | None) -> None:
    assert spdx_of_text(text) == spdx


# --- classifiers ----------------------------------------------------------------------

@pytest.mark.parametrize(("classifier", "spdx"), [
    (MIT_CLASSIFIER, "MIT"),
    (APACHE_CLASSIFIER, "Apache-2.0"),
    (OSI + "ISC License (ISCL)", "ISC"),
    (OSI + "Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"),
    (OSI + "Mozilla Public License 1.1 (MPL 1.1)", "MPL-1.1"),
    (OSI + "GNU General Public License v2 (GPLv2)", "GPL-2.0-only"),
    (OSI + "GNU General Public License v2 or later (GPLv2+)", "GPL-2.0-or-later"),
    (OSI + "GNU General Public License v3 (GPLv3)", "GPL-3.0-only"),
    (OSI + "GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"),
    (OSI + "GNU Lesser General Public License v2 (LGPLv2)", None),  # 2.0 or 2.1?
    (OSI + "GNU Lesser General Public License v2 or later (LGPLv2+)", None),
    (OSI + "GNU Lesser General Public License v3 (LGPLv3)", "LGPL-3.0-only"),
    (OSI + "GNU Lesser General Public License v3 or later (LGPLv3+)", "LGPL-3.0-or-later"),
    (OSI + "GNU Affero General Public License v3", "AGPL-3.0-only"),
    (OSI + "GNU Affero General Public License v3 or later (AGPLv3+)", "AGPL-3.0-or-later"),
    (OSI + "Python Software Foundation License", "PSF-2.0"),
    (OSI + "The Unlicense (Unlicense)", "Unlicense"),
    (OSI + "Historical Permission Notice and Disclaimer (HPND)", "HPND"),
    (OSI + "Eclipse Public License 2.0 (EPL-2.0)", "EPL-2.0"),
    (OSI + "Boost Software License 1.0 (BSL-1.0)", "BSL-1.0"),
    (OSI + "zlib/libpng License", "Zlib"),
    (OSI + "Zero-Clause BSD (0BSD)", "0BSD"),
    (OSI + "MIT No Attribution License (MIT-0)", "MIT-0"),
    (OSI + "European Union Public Licence 1.2 (EUPL 1.2)", "EUPL-1.2"),
    (OSI + "CEA CNRS Inria Logiciel Libre License, version 2.1 (CeCILL-2.1)", "CECILL-2.1"),
    (OSI + "University of Illinois/NCSA Open Source License", "NCSA"),
    ("License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication", "CC0-1.0"),
    # spacing and case are not part of a classifier's meaning
    ("License ::  OSI Approved::MIT License ", "MIT"),
    ("License :: OSI APPROVED :: MIT LICENSE", "MIT"),
    # no version, several versions, or no SPDX license: None
    (OSI + "Academic Free License (AFL)", None),
    (BSD_CLASSIFIER, None),
    (OSI + "GNU General Public License (GPL)", None),
    (OSI + "GNU Library or Lesser General Public License (LGPL)", None),
    (OSI + "Artistic License", None),
    (OSI + "Zope Public License", None),
    (OSI + "W3C License", None),
    ("License :: Netscape Public License (NPL)", None),
    ("License :: Other/Proprietary License", None),
    ("License :: Public Domain", None),
    ("License :: Freeware", None),
    ("License :: OSI Approved", None),
    ("License :: OSI Approved :: Made Up License", None),
])
def test_classifier(classifier: str, spdx: str | None) -> None:
    assert spdx_of_classifiers([classifier]) == spdx


@pytest.mark.parametrize(("classifiers", "spdx"), [
    # several, all mapped: joined with OR, in sorted order whatever the declared order
    ([MIT_CLASSIFIER, APACHE_CLASSIFIER], "Apache-2.0 OR MIT"),
    ([APACHE_CLASSIFIER, MIT_CLASSIFIER], "Apache-2.0 OR MIT"),
    ([OSI + "GNU General Public License v3 (GPLv3)", OSI + "Mozilla Public License 2.0 (MPL 2.0)",
      APACHE_CLASSIFIER], "Apache-2.0 OR GPL-3.0-only OR MPL-2.0"),
    # one of them ambiguous or unmapped: no answer
    ([APACHE_CLASSIFIER, BSD_CLASSIFIER], None),
    ([MIT_CLASSIFIER, "License :: Other/Proprietary License"], None),
    # the same license twice, or a category beside one of its own classifiers: one license
    ([MIT_CLASSIFIER, MIT_CLASSIFIER], "MIT"),
    ([MIT_CLASSIFIER, "License :: OSI Approved :: MIT License "], "MIT"),
    (["License :: OSI Approved", MIT_CLASSIFIER], "MIT"),
    # non-license classifiers are not looked at
    (["Programming Language :: Python :: 3", MIT_CLASSIFIER, "Topic :: Utilities"], "MIT"),
    (["Programming Language :: Python :: 3", "Operating System :: POSIX :: BSD"], None),
    ([], None),
])
def test_several_classifiers(classifiers: list[str], spdx: str | None) -> None:
    assert spdx_of_classifiers(classifiers) == spdx


def test_classifiers_that_are_not_strings_are_ignored() -> None:
    hostile: list = [None, b"License :: OSI Approved :: BSD License", 3, MIT_CLASSIFIER]
    assert spdx_of_classifiers(hostile) == "MIT"
    assert license_facts(None, None, hostile).classifiers == (MIT_CLASSIFIER,)


def test_license_facts_keeps_only_license_classifiers_in_order_once() -> None:
    facts = license_facts(None, None, [
        "Development Status :: 5 - Production/Stable", APACHE_CLASSIFIER,
        "Intended Audience :: Developers", MIT_CLASSIFIER, APACHE_CLASSIFIER,
        "Programming Language :: Python"])
    assert facts.classifiers == (APACHE_CLASSIFIER, MIT_CLASSIFIER)
    assert (facts.spdx, facts.source) == ("Apache-2.0 OR MIT", "classifiers")


# --- precedence -----------------------------------------------------------------------

def test_license_expression_wins_over_the_others() -> None:
    facts = license_facts("MIT", "Apache 2.0", [OSI + "GNU General Public License v3 (GPLv3)"])
    assert (facts.spdx, facts.source) == ("MIT", "License-Expression")


def test_license_field_wins_over_classifiers() -> None:
    facts = license_facts(None, "Apache 2.0", [MIT_CLASSIFIER])
    assert (facts.spdx, facts.source) == ("Apache-2.0", "License")


def test_invalid_expression_falls_through_and_is_kept() -> None:
    facts = license_facts("  MIT License  ", None, [MIT_CLASSIFIER])
    assert (facts.spdx, facts.source) == ("MIT", "classifiers")
    assert facts.expression == "MIT License"  # stripped, but as declared


def test_invalid_expression_falls_through_to_the_license_field() -> None:
    facts = license_facts("Apache License 2.0", "Apache-2.0", [])
    assert (facts.spdx, facts.source) == ("Apache-2.0", "License")


def test_absurdly_long_expression_is_not_parsed() -> None:
    expression = " OR ".join(["MIT"] * 2000)  # valid, but no package declares 8 KB of it
    facts = license_facts(expression, None, [APACHE_CLASSIFIER])
    assert (facts.spdx, facts.source) == ("Apache-2.0", "classifiers")
    assert facts.expression == expression


def test_expression_is_canonicalized() -> None:
    facts = license_facts("mit or apache-2.0", None, [])
    assert (facts.spdx, facts.expression) == ("MIT OR Apache-2.0", "mit or apache-2.0")


def test_ambiguous_license_field_is_settled_by_classifiers() -> None:
    facts = license_facts(None, "GPL", [OSI + "GNU General Public License v2 (GPLv2)"])
    assert (facts.spdx, facts.source) == ("GPL-2.0-only", "classifiers")
    assert facts.text == "GPL"


def test_nothing_anywhere_is_unknown() -> None:
    facts = license_facts("", "UNKNOWN", ["License :: OSI Approved :: BSD License"])
    assert (facts.spdx, facts.source) == (UNKNOWN, "none")
    assert facts.expression is None and facts.text == "UNKNOWN"


# --- truncation -----------------------------------------------------------------------

def test_long_license_text_is_cut_but_read_whole() -> None:
    # The recognizing sentence comes after the cut: the answer is still read from all of it.
    text = "Copyright (c) " + "Someone, " * 600 + "\n\n" + MIT_TEXT
    assert len(text) > TEXT_LIMIT
    facts = license_facts(None, text, [])
    assert facts.text == text[:TEXT_LIMIT] + "…[truncated]"
    assert (facts.spdx, facts.source) == ("MIT", "License")


def test_text_at_the_limit_is_kept_whole() -> None:
    text = "x" * TEXT_LIMIT
    assert license_facts(None, text, []).text == text
    assert license_facts(None, text + "y", []).text == text + "…[truncated]"


# --- JSON -----------------------------------------------------------------------------

@pytest.mark.parametrize("facts", [
    license_facts("MIT", None, []),
    license_facts(None, NUMPY_TEXT, [BSD_CLASSIFIER, "Topic :: Science"]),
    license_facts(None, "x" * (TEXT_LIMIT + 10), [APACHE_CLASSIFIER, MIT_CLASSIFIER]),
    license_facts(None, None, []),
])
def test_json_round_trip(facts: LicenseFacts) -> None:
    document = json.loads(json.dumps(facts.to_json()))
    assert set(document) == {"expression", "text", "classifiers", "spdx", "source"}
    assert isinstance(document["classifiers"], list)
    assert LicenseFacts.from_json(document) == facts


def _good() -> dict[str, object]:
    return {"expression": "MIT", "text": None, "classifiers": [MIT_CLASSIFIER], "spdx": "MIT",
            "source": "License-Expression"}


def test_good_document_reads_back() -> None:
    facts = LicenseFacts.from_json(_good())
    assert facts is not None
    assert facts.classifiers == (MIT_CLASSIFIER,) and facts.spdx == "MIT"


@pytest.mark.parametrize(("key", "value"), [
    ("expression", 1),
    ("expression", ["MIT"]),
    ("text", b"MIT"),
    ("text", "x" * (TEXT_LIMIT + 100)),
    ("classifiers", MIT_CLASSIFIER),
    ("classifiers", (MIT_CLASSIFIER,)),
    ("classifiers", [MIT_CLASSIFIER, None]),
    ("classifiers", ["Topic :: Utilities"]),
    ("classifiers", [MIT_CLASSIFIER, MIT_CLASSIFIER]),
    ("classifiers", None),
    ("spdx", None),
    ("spdx", 0),
    ("spdx", "MIT License"),  # not an SPDX expression
    ("spdx", "mit"),  # not canonical
    ("spdx", UNKNOWN),  # but source says License-Expression
    ("source", "License-File"),
    ("source", None),
    ("source", "none"),  # but spdx is MIT
])
def test_from_json_rejects_malformed_values(key: str, value: object) -> None:
    document = _good()
    document[key] = value
    assert LicenseFacts.from_json(document) is None


@pytest.mark.parametrize("raw", [
    None, "MIT", 1, [], ["MIT"], {},
    {key: value for key, value in _good().items() if key != "spdx"},
    {key: value for key, value in _good().items() if key != "expression"},
])
def test_from_json_rejects_malformed_documents(raw: object) -> None:
    assert LicenseFacts.from_json(raw) is None


# --- the tables themselves ------------------------------------------------------------

def test_text_table_keys_are_normalized_and_values_canonical() -> None:
    for key, spdx in licenses._TEXT_NAMES.items():
        assert licenses._normalized(key) == key, key
        assert canonicalize_license_expression(spdx) == spdx, key


def test_classifier_table_keys_are_normalized_and_values_canonical() -> None:
    for key, spdx in licenses._CLASSIFIERS.items():
        assert licenses._classifier_key(key) == key, key
        assert key.startswith("license :: "), key
        assert canonicalize_license_expression(spdx) == spdx, key


def test_no_table_maps_a_bare_family_name() -> None:
    for key in ("bsd", "bsd license", "gpl", "gnu gpl", "lgpl", "agpl", "apache",
                "apache license", "apache software license", "mpl", "epl", "cc"):
        assert key not in licenses._TEXT_NAMES, key


# --- untrusted input ------------------------------------------------------------------

SPDX_IDS = ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "GPL-3.0+", "LGPL-2.1",
            "MPL-2.0", "ISC", "0BSD", "LicenseRef-Custom", "Classpath-exception-2.0"]
spdx_like = st.lists(
    st.sampled_from(SPDX_IDS + ["AND", "OR", "WITH", "(", ")", "and", "or", "+"]),
    min_size=1, max_size=8,
).map(" ".join)
names = st.sampled_from([
    "MIT", "MIT License", "BSD", "GPLv2+", "Apache 2.0", "UNKNOWN", "", MIT_TEXT, NUMPY_TEXT,
    BSD_2_TEXT, ISC_TEXT, APACHE_NOTICE, NUMPY_WHEEL_TEXT])
texts = st.none() | st.text() | names | spdx_like | st.builds(
    lambda head, name, tail: head + name + tail, st.text(max_size=20), names,
    st.text(max_size=20))
classifier_lists = st.lists(
    st.text() | st.sampled_from([MIT_CLASSIFIER, APACHE_CLASSIFIER, BSD_CLASSIFIER,
                                 "License :: OSI Approved", "Topic :: Utilities"])
    | st.text().map(lambda tail: "License :: " + tail)
    | st.text().map(lambda tail: OSI + tail),
    max_size=6)


@fuzz
@given(expression=st.none() | st.text() | spdx_like, text=texts,
       classifiers=classifier_lists)
def test_any_input_gives_facts(expression: str | None, text: str | None,
                               classifiers: list[str]) -> None:
    facts = license_facts(expression, text, classifiers)
    assert isinstance(facts, LicenseFacts)
    assert facts.source in ("License-Expression", "License", "classifiers", "none")
    assert (facts.source == "none") == (facts.spdx == UNKNOWN)
    if facts.spdx != UNKNOWN:
        assert canonicalize_license_expression(facts.spdx) == facts.spdx
    assert all(item.startswith("License ::") for item in facts.classifiers)
    assert len(set(facts.classifiers)) == len(facts.classifiers)
    assert facts.text is None or len(facts.text) <= TEXT_LIMIT + len("…[truncated]")
    assert LicenseFacts.from_json(json.loads(json.dumps(facts.to_json()))) == facts


@fuzz
@given(text=texts.filter(lambda value: value is not None), classifiers=classifier_lists)
def test_readers_never_raise(text: str, classifiers: list[str]) -> None:
    for spdx in (spdx_of_text(text), spdx_of_classifiers(classifiers)):
        assert spdx is None or canonicalize_license_expression(spdx) == spdx


@fuzz
@given(raw=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["expression", "text", "classifiers", "spdx", "source"])
                      | st.text(max_size=5), children, max_size=6),
    max_leaves=12))
def test_from_json_never_raises(raw: object) -> None:
    facts = LicenseFacts.from_json(raw)
    assert facts is None or isinstance(facts, LicenseFacts)


N = 100_000
_BSD_HEAD = ("Redistribution and use in source and binary forms are permitted provided that "
             "the following conditions are met: Redistributions of source code must retain. "
             "Redistributions in binary form must reproduce. ")


@pytest.mark.parametrize(("expression", "text", "classifiers"), [
    ("a" * N, "a" * N, ["License :: " + "a" * N]),
    ("(" * N, "(" * N, ["License :: " + "(" * N]),
    ("MIT OR " * (N // 7) + "MIT", " OR ".join(["MIT"] * (N // 7)), []),
    ("v1" * (N // 2), "GPL" + "v" * N + "2+", ["License :: " + ":: " * (N // 3)]),
    (None, "Permission is hereby granted, free of charge, " * (N // 45), []),
    (None, _BSD_HEAD + " 1. * -" * (N // 7), []),
    (None, "1." * (N // 2), [OSI + f"X{i}" for i in range(10_000)]),
    (None, " \t\n" * (N // 3) + "MIT", ["License :: " + " :: ".join("OSI" * i)
                                         for i in range(1, 200)]),
    (None, "İß" * (N // 2), ["License :: " + "ß" * N]),
])
def test_pathological_input_is_fast(expression: str | None, text: str | None,
                                    classifiers: list[str]) -> None:
    started = time.perf_counter()
    facts = license_facts(expression, text, classifiers)
    assert time.perf_counter() - started < 1.0
    assert facts.text is None or len(facts.text) <= TEXT_LIMIT + len("…[truncated]")
