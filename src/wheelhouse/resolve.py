"""Requirements + constraints + target -> one pinned set, by resolvelib (pip's own resolver).

Markers and Requires-Python are evaluated for the target, never the host. Extras are
identifiers of their own (`name[extra]`, PEP 685 normalized) that depend on the base project
at the same version, as pip models them. Requires-Python from metadata is a requirement on
the `<python>` identifier, whose one candidate is the target's Python.

A version with no file the target can use is passed over for older ones, as pip and uv do
(the resolver backtracks away from whatever asked for it). Only when that fails is the
resolution run again with *unservable* stand-ins, candidates that satisfy anything, so that
one error names every project no version of which can be served.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Spec
from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider, BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from wheelhouse.constraints import Pin
from wheelhouse.errors import InputError
from wheelhouse.index import IndexFile, ProjectNotFound, not_found_hint
from wheelhouse.selection import choose_file, dependencies, exact_versions
from wheelhouse.target import MarkerError, Target
from wheelhouse.wheelfile import Metadata

PYTHON = "<python>"
MAX_ROUNDS = 20000
# Once the resolver passes over a project's newest candidate, it often walks back through
# dozens (boto3 against a botocore pin: 550): the METADATA of this many more is read ahead,
# in parallel, rather than one round trip at a time.
READ_AHEAD = 32


@dataclass(frozen=True)
class Requirement:
    """A need for one identifier, and who has it (for messages and `required_by`)."""

    identifier: str
    name: str
    extra: str | None
    specifier: SpecifierSet
    parent: str


@dataclass(frozen=True)
class Candidate:
    """A version of a project (or of one of its extras) and the file that serves it."""

    name: str
    version: Version
    extra: str | None = None
    file: IndexFile | None = None
    problem: str | None = None  # set when nothing on the index can serve the target

    @property
    def identifier(self) -> str:
        return identifier_of(self.name, self.extra)


@dataclass(frozen=True)
class ResolvedPin:
    """One project of the pinned set."""

    name: str
    version: Version
    file: IndexFile
    extras: tuple[str, ...] = ()
    required_by: tuple[str, ...] = ()


@dataclass
class Resolution:
    pins: list[ResolvedPin]
    warnings: list[str] = field(default_factory=list)


class Sources(Protocol):
    """What the resolver needs from the outside world: files, metadata, a head start."""

    def files(self, name: str) -> list[IndexFile]: ...

    def metadata(self, file: IndexFile) -> Metadata: ...

    def look_ahead(self, wanted: Iterable[Requirement]) -> None: ...

    def read_ahead(self, files: Iterable[IndexFile]) -> None: ...


def identifier_of(name: str, extra: str | None) -> str:
    return f"{name}[{extra}]" if extra else name


def project_of(identifier: str) -> str:
    """`name[extra]` -> `name`: the project an identifier belongs to."""
    return canonicalize_name(identifier.split("[")[0])


def parse_specs(specs: Sequence[str], target: Target) -> tuple[list[Requirement], dict[str, str]]:
    """The user's requirement strings -> requirements (markers held on the target).

    Also returns, per identifier, the spec that asked for it, for `required_by`.
    """
    requirements: list[Requirement] = []
    roots: dict[str, str] = {}
    for text in specs:
        try:
            spec = Spec(text)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]
            raise InputError(f"{text!r} is not a valid requirement ({reason}).") from None
        if spec.url:
            raise InputError(f"{text!r}: direct URL requirements are not supported; name a "
                             "version on the index instead.")
        try:
            if spec.marker is not None and not target.judge(spec.marker):
                continue
        except MarkerError as exc:
            raise InputError(f"{text!r}: the marker {exc}.") from None
        for requirement in expand(spec, text):
            requirements.append(requirement)
            roots.setdefault(requirement.identifier, text)
    return requirements, roots


def expand(spec: Spec, parent: str) -> list[Requirement]:
    """`name[a,b]>=1` -> requirements on `name`, `name[a]` and `name[b]`, all `>=1`."""
    name = canonicalize_name(spec.name)
    found = [Requirement(name, name, None, spec.specifier, parent)]
    for extra in sorted({canonicalize_name(e) for e in spec.extras}):
        found.append(Requirement(identifier_of(name, extra), name, extra, spec.specifier, parent))
    return found


class Provider(AbstractProvider):
    """resolvelib's view of the index, the constraints and the target."""

    def __init__(
        self,
        target: Target,
        pins: Mapping[str, Pin],
        sources: Sources,
        allow_build: bool = True,
        pre: bool = False,
        stand_ins: bool = False,
        requested: Sequence[str] = (),
    ) -> None:
        self.target = target
        self.requested = {identifier: i for i, identifier in reversed(list(enumerate(requested)))}
        self.pins = pins
        self.sources = sources
        self.allow_build = allow_build
        self.pre = pre
        self.stand_ins = stand_ins  # an unservable candidate where no version can be served
        # Each warning with the candidate it is about: only the final pins' are reported.
        self.warnings: dict[str, tuple[str, Version]] = {}
        self._python = Version(target.python_full_version)
        # Newest version per project excluded only by the target's patch level (X.Y means
        # X.Y.0), with the Requires-Python that excluded it: said if an older one is pinned.
        self.patch_excluded: dict[str, tuple[Version, str, str]] = {}
        self._satisfied: dict[tuple[int, Version], tuple[SpecifierSet, bool]] = {}
        self._by_project: dict[str, tuple[list[Version], dict[Version, list[IndexFile]]]] = {}
        self._admits: dict[tuple[str, str], frozenset[int]] = {}
        self._chosen: dict[tuple[str, Version, bool], tuple[IndexFile | None, str]] = {}

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.identifier

    def get_preference(self, identifier, resolutions, candidates, information, backtrack_causes):
        """Python; what is pinned; what the user asked for, in their order; then what has
        an upper bound (pip's order, but for that swap: pinning a root's bounded needs first
        walks boto3 back against a botocore pin through s3transfer's versions too, 13x
        slower, while the conflicts' own narrowing below still backtracks boto3, not s3fs,
        when s3fs's aiobotocore bounds botocore); what has any specifier; then by name."""
        specifiers = [s for info in information[identifier] for s in info.requirement.specifier]
        pinned = identifier == PYTHON or project_of(identifier) in self.pins or any(
            s.operator in ("==", "===") for s in specifiers)
        upper_bounded = any(s.operator in ("<", "<=", "~=") for s in specifiers)
        return (identifier != PYTHON, not pinned, self.requested.get(identifier, math.inf),
                not upper_bounded, not specifiers, identifier)

    def narrow_requirement_selection(self, identifiers, resolutions, candidates, information,
                                     backtrack_causes):
        """After a conflict, work on the projects in it (and those who asked for them) first,
        as pip does: the resolver then backtracks the parent whose pins clash, not whatever
        happened to be pinned last (s3fs with boto3: boto3, not s3fs back to 0.4)."""
        if PYTHON in identifiers:
            return [PYTHON]
        involved = set()
        for cause in backtrack_causes:
            involved.add(cause.requirement.identifier)
            if cause.parent is not None:
                involved.add(cause.parent.identifier)
        narrowed = [i for i in identifiers if i in involved]
        return narrowed or identifiers

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        """The candidates, newest first, made only as the resolver reaches them: it asks
        again at every step of a backtrack, and mostly takes the first (botocore admits a
        thousand versions where one is pinned)."""
        wanted = list(requirements[identifier])
        if identifier == PYTHON:
            python = self._python
            fits = all(r.specifier.contains(python, prereleases=True) for r in wanted)
            return lambda: iter([Candidate(PYTHON, python)] if fits else [])
        name = wanted[0].name if wanted else project_of(identifier)
        extra = wanted[0].extra if wanted else None
        specifiers = [r.specifier for r in wanted]
        pin = self.pins.get(name)
        if pin is not None:
            specifiers.append(pin.requirement.specifier)
        banned = {c.version for c in incompatibilities[identifier]}
        try:
            newest_first, by_version = self._versions(name)
        except ProjectNotFound:  # no older version of a parent can make it appear: say so
            missing = Candidate(name, Version("0"), extra, problem=f"{name} is not on any index")
            return lambda: iter([missing])
        admitted = self._admitted(name, specifiers)  # positions in newest_first
        allow_pre = self.pre or any(s.prereleases for s in specifiers) or not any(
            not newest_first[i].is_prerelease for i in admitted)  # PEP 440: pre-releases
        exact = exact_versions(specifiers)                       # when no final one does

        def eligible(positions: list[int], start: int) -> Iterator[tuple[int, Version]]:
            for at in range(start, len(positions)):
                version = newest_first[positions[at]]
                if version not in banned and (allow_pre or not version.is_prerelease) and (
                        not exact or version in exact):
                    yield at, version

        def candidates() -> Iterator[Candidate]:
            positions = sorted(admitted)
            unservable: Candidate | None = None
            served = 0
            for at, version in eligible(positions, 0):
                chosen, why = self._file(name, version, version in exact, by_version[version])
                if chosen is not None:
                    if served or banned:  # walking back: read the next ones' METADATA now
                        upcoming = (later for _, later in eligible(positions, at + 1))
                        self.sources.read_ahead(self._upcoming(name, upcoming, exact))
                    served += 1
                    yield Candidate(name, version, extra, chosen)
                    continue
                self._note_patch_level(name, version, {
                    str(f.requires_python) for f in by_version[version] if f.requires_python})
                if unservable is None:
                    problem = f"{name}=={version}: {why}"
                    unservable = Candidate(name, version, extra, problem=problem)
            if unservable is not None and self.stand_ins and not served:
                yield unservable

        return candidates

    def _upcoming(self, name: str, versions: Iterable[Version],
                  exact: set[Version]) -> Iterator[IndexFile]:
        """The files of the next READ_AHEAD versions that have one for the target."""
        _, by_version = self._versions(name)
        found = 0
        for version in versions:
            if found == READ_AHEAD:
                return
            chosen, _ = self._file(name, version, version in exact, by_version[version])
            if chosen is not None:
                found += 1
                yield chosen

    def _admitted(self, name: str, specifiers: list[SpecifierSet]) -> frozenset[int]:
        """Where, in the project's versions newest first, are those every specifier admits
        (pre-releases included). Each specifier is checked against a project's versions
        once: backtracking asks again thousands of times (botocore has 2,000 versions), and
        positions intersect fast."""
        versions, _ = self._versions(name)
        admitted: frozenset[int] | None = None
        for specifier_set in specifiers:
            for specifier in specifier_set:
                key = (name, str(specifier))
                allowed = self._admits.get(key)
                if allowed is None:
                    allowed = self._admits[key] = admitted_positions(versions, specifier)
                admitted = allowed if admitted is None else admitted & allowed
        return frozenset(range(len(versions))) if admitted is None else admitted

    def _file(self, name: str, version: Version, exact: bool,
              files: list[IndexFile]) -> tuple[IndexFile | None, str]:
        """choose_file, once per version (and whether it was pinned exactly)."""
        key = (name, version, exact)
        found = self._chosen.get(key)
        if found is None:
            found = self._chosen[key] = choose_file(files, self.target, exact, self.allow_build)
        return found

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        if candidate.problem is not None:
            return True  # stands in for what cannot be served, so that all are reported
        # resolvelib asks this for every pin in every round: remember the answers. The
        # specifier is kept in the value, so its id() cannot be reused while cached.
        key = (id(requirement.specifier), candidate.version)
        known = self._satisfied.get(key)
        if known is None:
            known = (requirement.specifier,
                     requirement.specifier.contains(candidate.version, prereleases=True))
            self._satisfied[key] = known
        return known[1]

    def _versions(self, name: str) -> tuple[list[Version], dict[Version, list[IndexFile]]]:
        """A project's versions, newest first, and their files: grouped once per project."""
        cached = self._by_project.get(name)
        if cached is None:
            by_version: dict[Version, list[IndexFile]] = defaultdict(list)
            for f in self.sources.files(name):
                by_version[f.version].append(f)
            cached = (sorted(by_version, reverse=True), by_version)
            self._by_project[name] = cached
        return cached

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate.identifier == PYTHON or candidate.file is None:
            return []
        metadata = self.sources.metadata(candidate.file)
        parent = f"{candidate.identifier}=={candidate.version}"
        found: list[Requirement] = []
        if candidate.extra is None:
            if metadata.requires_python:
                try:
                    python = SpecifierSet(metadata.requires_python)
                    found.append(Requirement(PYTHON, PYTHON, None, python, parent))
                    self._note_patch_level(candidate.name, candidate.version, {str(python)})
                except InvalidSpecifier:
                    self._warn(candidate, f"{parent} declares an invalid Requires-Python; "
                               "ignored.")
        else:
            found.append(Requirement(
                candidate.name, candidate.name, None, SpecifierSet(f"=={candidate.version}"), parent
            ))
            offered = {canonicalize_name(e) for e in metadata.provides_extra}
            if offered and candidate.extra not in offered:
                self._warn(candidate, f"{candidate.name} {candidate.version} has no extra "
                           f"{candidate.extra!r}; ignored.")
        specs, invalid = dependencies(metadata, self.target, candidate.extra)
        for line in invalid:
            self._warn(candidate, f"{parent} declares an invalid requirement {line!r}; "
                       "ignored.")
        for spec in specs:
            found.extend(expand(spec, parent))
        self.sources.look_ahead(found)
        return found

    def _note_patch_level(self, name: str, version: Version, requires: set[str]) -> None:
        """Remember `version` if each Requires-Python it has excludes the target's Python only
        because the target's patch level was not named."""
        lowest = [first_patch_allowed(text, self.target) for text in requires]
        if not requires or None in lowest:
            return
        known = self.patch_excluded.get(name)
        if known is None or version > known[0]:
            self.patch_excluded[name] = (version, " or ".join(sorted(requires)),
                                         min((p for p in lowest if p is not None), key=Version))

    def _warn(self, candidate: Candidate, message: str) -> None:
        self.warnings.setdefault(message, (candidate.name, candidate.version))

    def final_warnings(self, chosen: Iterable[Candidate]) -> list[str]:
        """The warnings about versions that were pinned, not about those the resolver tried
        and abandoned while backtracking."""
        chosen = list(chosen)
        pinned = {(c.name, c.version) for c in chosen}
        found = [message for message, about in self.warnings.items() if about in pinned]
        for c in chosen:
            newer = self.patch_excluded.get(c.name)
            if c.extra is None and c.problem is None and newer and newer[0] > c.version:
                found.append(patch_level_warning(c.name, c.version, newer, self.target))
        return found


def admitted_positions(newest_first: Sequence[Version], specifier: Specifier) -> frozenset[int]:
    """The positions in `newest_first` that `specifier` admits, pre-releases included.

    What an ordered comparison (<, <=, >, >=) admits is contiguous in version order, even
    with PEP 440's exclusions (`<V` refuses V's pre-releases, `>V` its post-releases and
    local versions, all adjacent to V): its edge is found by bisection, a dozen `contains`
    where a boto3 release's botocore range would take 2,000 each."""
    def admits(position: int) -> bool:
        return specifier.contains(newest_first[position], prereleases=True)

    count = len(newest_first)
    if specifier.operator in (">", ">="):  # admits the newest ones: a prefix
        return frozenset(range(_edge(count, lambda i: not admits(i))))
    if specifier.operator in ("<", "<="):  # admits the oldest ones: a suffix
        return frozenset(range(_edge(count, admits), count))
    return frozenset(i for i in range(count) if admits(i))


def _edge(count: int, past: Callable[[int], bool]) -> int:
    """The first position in range(count) where `past` holds (count if none), for a `past`
    that, once true, stays true."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if past(middle):
            high = middle
        else:
            low = middle + 1
    return low


def first_patch_allowed(requires_python: str, target: Target) -> str | None:
    """The first X.Y.Z that Requires-Python admits when it excludes the target's X.Y.0 only
    by its patch level, and the user named none (cryptography 44: !=3.9.0,!=3.9.1)."""
    if target.requested.count(".") != 1:
        return None
    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None
    if allowed.contains(Version(target.python_full_version), prereleases=True):
        return None
    major, minor = target.python_version
    return next((f"{major}.{minor}.{patch}" for patch in range(1, 100)
                 if allowed.contains(Version(f"{major}.{minor}.{patch}"), prereleases=True)),
                None)


def patch_level_warning(name: str, pinned: Version, newer: tuple[Version, str, str],
                        target: Target) -> str:
    version, requires, first = newer
    return (f"{name} {pinned} was chosen, not {version}: that requires Python {requires}, "
            f"which excludes --python {target.requested} only because {target.requested} means "
            f"{target.python_full_version}; name the target's patch level (--python {first} or "
            "later) to allow it.")


def resolve(
    specs: Sequence[str],
    pins: Mapping[str, Pin],
    target: Target,
    sources: Sources,
    allow_build: bool = True,
    reporter: BaseReporter | None = None,
    pre: bool = False,
) -> Resolution:
    """The pinned set for one target; every unservable project is named in one error."""
    requirements, roots = parse_specs(specs, target)
    if not requirements:
        raise InputError(f"no requirement applies to {target.name} (their markers exclude it).")
    sources.look_ahead(requirements)
    try:
        result, provider = _run(requirements, target, pins, sources, allow_build, pre, reporter,
                                stand_ins=False)
    except (ResolutionImpossible, ResolutionTooDeep):
        # Again with stand-ins for what cannot be served, to name all of it, or the conflict.
        result, provider = _run(requirements, target, pins, sources, allow_build, pre, reporter,
                                stand_ins=True)
    unservable = sorted(
        c.problem for c in result.mapping.values() if c.problem and c.extra is None
    )
    if unservable:
        raise InputError(
            f"{len(unservable)} package(s) cannot be served for {target.name}: "
            + "; ".join(unservable) + "." + not_found_hint(sources)
        )
    return Resolution(_pins(result, roots), provider.final_warnings(result.mapping.values()))


def _run(
    requirements: list[Requirement], target: Target, pins: Mapping[str, Pin], sources: Sources,
    allow_build: bool, pre: bool, reporter: BaseReporter | None, stand_ins: bool,
):
    """One resolvelib run; with stand-ins, its failures are errors in the user's words."""
    provider = Provider(target, pins, sources, allow_build, pre, stand_ins,
                        [r.identifier for r in requirements])
    resolver = Resolver(provider, reporter or BaseReporter())
    try:
        return resolver.resolve(requirements, max_rounds=MAX_ROUNDS), provider
    except ResolutionImpossible as exc:
        if not stand_ins:
            raise
        raise InputError(_impossible(exc, pins, target, sources)) from None
    except ResolutionTooDeep:
        if not stand_ins:
            raise
        raise InputError(
            f"resolution for {target.name} gave up after {MAX_ROUNDS} rounds of backtracking; "
            "pin more versions in the constraints."
        ) from None


def _pins(result, roots: Mapping[str, str]) -> list[ResolvedPin]:
    extras: dict[str, set[str]] = defaultdict(set)
    asked: dict[str, set[str]] = defaultdict(set)
    for identifier, candidate in result.mapping.items():
        if identifier == PYTHON:
            continue
        if candidate.extra:
            extras[candidate.name].add(candidate.extra)
        if identifier in roots:
            asked[candidate.name].add(roots[identifier])
        for parent in result.graph.iter_parents(identifier):
            if parent is None:
                continue
            owner = result.mapping[parent]
            if owner.name != candidate.name:
                asked[candidate.name].add(owner.identifier)
    return sorted(
        (
            ResolvedPin(
                name=c.name,
                version=c.version,
                file=c.file,
                extras=tuple(sorted(extras[c.name])),
                required_by=tuple(sorted(asked[c.name])),
            )
            for identifier, c in result.mapping.items()
            if identifier != PYTHON and c.extra is None
        ),
        key=lambda p: p.name,
    )


def _impossible(
    exc: ResolutionImpossible, pins: Mapping[str, Pin], target: Target, sources: Sources
) -> str:
    """One sentence: which project, which specifiers from whom, what the index has."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for cause in exc.causes:
        requirement = cause.requirement
        who = cause.parent.identifier if cause.parent is not None else "the command line"
        if requirement.name == PYTHON:
            by_name[PYTHON].append(f"{who} requires Python {requirement.specifier}")
            continue
        shown = f"{requirement.name}{requirement.specifier}" if str(requirement.specifier) else \
            requirement.name
        by_name[requirement.name].append(f"{shown} (from {who})")
    parts = []
    for name, asks in by_name.items():
        if name == PYTHON:
            parts.append(f"{'; '.join(sorted(set(asks)))}, but the target is "
                         f"{target.python_full_version}")
            continue
        pin = pins.get(name)
        constraint = f" and the constraint {name}=={pin.version} (line {pin.line})" if pin else ""
        parts.append(f"no version of {name} satisfies {', '.join(sorted(set(asks)))}{constraint}"
                     f" ({_offered(name, sources)})")
    return f"cannot resolve for {target.name}: " + "; ".join(parts) + "."


def _offered(name: str, sources: Sources) -> str:
    """'the index has 1.1, 1.0': what a user needs to fix a pin."""
    try:
        versions = sorted({f.version for f in sources.files(name)}, reverse=True)
    except ProjectNotFound:
        return "it is not on any index"
    shown = ", ".join(str(v) for v in versions[:6]) + (", ..." if len(versions) > 6 else "")
    return f"the index has {shown}" if versions else "the index lists no files"
