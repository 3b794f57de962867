"""Group iam/'s flat modules into sub-packages named for what they hold, and rewrite every reference to them.

Replayable: run it on any checkout (another branch, a later main) and it moves what is still at its old place
(what has moved already is skipped), creates the sub-packages' __init__.py, then rewrites the repository's
references: `from iam import a, b as c`, `from iam.x import y`, `import iam.x`, dotted strings ("iam.x.name"
in settings, docs, .importlinter, pyproject.toml) and paths (`iam/x.py` in docs, scripts, generated headers).
A module renamed on the way (permissions_used -> member_role) is renamed where it was imported bare
(`from iam import imports` becomes `from iam.catalog_import import import_runs`, and `imports.x` in the code
becomes `import_runs.x`); comments and strings naming the local name are left alone. A name that moved to
another module first (MOVED_NAMES: `account_access`, from iam.sync to iam.gateway) is imported from its new
home. Last, if ruff is at hand, the files it changed get their imports sorted and are formatted; a comment line
the longer names push past 120 characters is left for a hand fix (`ruff check` names it).

    python scripts/regroup_iam.py            # move and rewrite
    python scripts/regroup_iam.py --check    # exit 1 if anything refers to an old place, or if iam/ holds a
                                             # top-level module this script does not know (neither in MOVES
                                             # nor in STAYS): a module added elsewhere since, to be placed here

Standard library only. Celery task names are not touched: every task in iam/tasks.py is named explicitly
(`name="iam.sync_grant"`), and no old module path is a task name.
"""

import argparse
import io
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IAM = ROOT / "iam"
THIS = Path(__file__).resolve()

# The sub-packages, and what each holds (their __init__.py docstrings).
PACKAGES = {
    "aws": "Talking to AWS: the one module that imports boto3 (gateway), its typed errors, leases on documents "
    "written back, calls made several at once, how a person is named in AWS, the audit anchors' bucket, and the "
    "member role's list of operations.",
    "apply": "Applying grants to AWS: the sync engine, the principals it ensures, and one module per entitlement "
    "kind (operations/).",
    "facts": "Reading AWS without changing it: who holds what (inventory), policy documents and their text, "
    "Access Advisor, CloudTrail activity, the posture checks' reads, and AWS Organizations.",
    "catalog_import": "Importing an account's entitlements into the catalog: the importer and its runs.",
    "reconcile": "AWS compared with the grant ledger: the reconcile run, the register of unmanaged access, what "
    "may be done with it, and a leaver's removal account by account.",
}

# Old module under iam/ -> its new dotted place under iam/. A bare old name is a module (x.py) or a package (x/).
MOVES = {
    "gateway": "aws.gateway",
    "errors": "aws.errors",
    "leases": "aws.leases",
    "at_once": "aws.at_once",
    "identity": "aws.identity",
    "audit_anchors": "aws.audit_anchors",
    "permissions_used": "aws.member_role",
    "sync": "apply.sync",
    "principals": "apply.principals",
    "operations": "apply.operations",
    "inventory": "facts.inventory",
    "permissions": "facts.permissions",
    "policy_text": "facts.policy_text",
    "access_advisor": "facts.access_advisor",
    "cloudtrail": "facts.cloudtrail",
    "posture_reads": "facts.posture_reads",
    "organizations": "facts.organizations",
    "importer": "catalog_import.importer",
    "imports": "catalog_import.import_runs",
    "reconcile": "reconcile.reconcile",
    "unmanaged": "reconcile.drift_register",
    "drift": "reconcile.drift_actions",
    "leavers": "reconcile.leavers",
}

# The old names that are packages (a directory), not modules.
MOVED_PACKAGES = {"operations"}

# What stays at iam/'s top level: Django's conventional modules.
STAYS = {
    "__init__",
    "admin",
    "apps",
    "models",
    "migrations",
    "tasks",
    "urls",
    "views",
    "import_views",
    "organization_views",
}

# The modules each sub-package holds after the move: `iam.reconcile` is both an old module and a new package,
# and `iam.reconcile.<one of these>` (or `from iam.reconcile import <one of these>`) is already the new form.
SUBMODULES: dict[str, set[str]] = {}
for _new in MOVES.values():
    _package, _module = _new.split(".", 1)
    SUBMODULES.setdefault(_package, set()).add(_module)

# Names that moved to another module before the grouping (a branch cut earlier still imports them from there).
MOVED_NAMES = {("sync", "account_access"): "gateway"}


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout  # noqa: S603, S607


def _old_path(old: str) -> Path:
    return IAM / old if old in MOVED_PACKAGES else IAM / f"{old}.py"


def _new_path(old: str) -> Path:
    parts = MOVES[old].split(".")
    return IAM.joinpath(*parts) if old in MOVED_PACKAGES else IAM.joinpath(*parts[:-1], f"{parts[-1]}.py")


def move_modules() -> list[str]:
    done = []
    for package, holds in PACKAGES.items():
        init = IAM / package / "__init__.py"
        if not init.exists():
            init.parent.mkdir(exist_ok=True)
            init.write_text('"""' + textwrap.fill(holds, width=114) + '"""\n')
            _git("add", str(init.relative_to(ROOT)))
            done.append(f"created {init.relative_to(ROOT)}")
    for old in MOVES:
        source, target = _old_path(old), _new_path(old)
        if not source.exists():
            continue
        if target.exists():
            raise SystemExit(f"both {source.relative_to(ROOT)} and {target.relative_to(ROOT)} exist: merge by hand")
        _git("mv", str(source.relative_to(ROOT)), str(target.relative_to(ROOT)))
        done.append(f"moved {source.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return done


def repository_files() -> list[Path]:
    listed = _git("ls-files", "-z") + _git("ls-files", "-z", "--others", "--exclude-standard")
    files = []
    for name in sorted(set(filter(None, listed.split("\0")))):
        path = ROOT / name
        if path == THIS or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "\0" not in text:
            files.append(path)
    return files


# --- rewriting ---------------------------------------------------------------------------------------------

FROM_IAM = re.compile(
    r"^(?P<indent>[ \t]*)from iam import (?P<names>\([^)]*\)|[^\n#]*?)(?P<comment>[ \t]*#[^\n]*)?[ \t]*$",
    re.MULTILINE,
)


def _names(text: str) -> list[tuple[str, str | None]]:
    names = []
    for item in text.strip().strip("()").replace("\n", " ").split(","):
        item = item.strip()
        if not item or item.startswith("#"):
            continue
        name, _, alias = (part.strip() for part in item.partition(" as "))
        names.append((name, alias or None))
    return names


def _from_line(indent: str, module: str, names: list[tuple[str, str | None]]) -> str:
    listed = ", ".join(f"{name} as {alias}" if alias else name for name, alias in sorted(names))
    return f"{indent}from {module} import {listed}"


def rewrite_moved_names(text: str) -> str:
    """`from iam.sync import account_access` (where it was) -> `from iam.gateway import account_access`."""
    for (module, name), home in MOVED_NAMES.items():

        def replace(match: re.Match, name=name, home=home, module=module) -> str:
            names = _names(match["names"])
            if name not in (n for n, _ in names):
                return match[0]
            moved = [(n, a) for n, a in names if n == name]
            others = [(n, a) for n, a in names if n != name]
            lines = [_from_line(match["indent"], f"iam.{module}", others)] if others else []
            lines.append(_from_line(match["indent"], f"iam.{home}", moved))
            lines[0] += match["comment"] or ""
            return "\n".join(lines)

        text = _from_package(module).sub(replace, text)
    return text


def rewrite_from_iam(text: str, renames: dict[str, str]) -> str:
    """`from iam import sync, tasks as t` -> `from iam import tasks as t` + `from iam.apply import sync`."""

    def replace(match: re.Match) -> str:
        names = _names(match["names"])
        if not any(name in MOVES for name, _ in names):
            return match[0]
        groups: dict[str, list[tuple[str, str | None]]] = {}
        for name, alias in names:
            if name not in MOVES:
                groups.setdefault("iam", []).append((name, alias))
                continue
            package, module = MOVES[name].rsplit(".", 1)
            if alias is None and module != name:
                renames[name] = module
            groups.setdefault(f"iam.{package}", []).append((module, alias))
        lines = [_from_line(match["indent"], module, groups[module]) for module in sorted(groups)]
        lines[0] += match["comment"] or ""
        return "\n".join(lines)

    return FROM_IAM.sub(replace, text)


def _from_package(package: str) -> re.Pattern:
    return re.compile(
        rf"^(?P<indent>[ \t]*)from iam\.{package} import (?P<names>\([^)]*\)|[^\n#]*?)"
        r"(?P<comment>[ \t]*#[^\n]*)?[ \t]*$",
        re.MULTILINE,
    )


def rewrite_from_shared_name(text: str) -> str:
    """`from iam.reconcile import reconcile_account` (the old module) -> `from iam.reconcile.reconcile import ...`;
    `from iam.reconcile import leavers` (the new package's module) is left as it is."""
    for old in sorted(set(MOVES) & set(PACKAGES)):
        module = MOVES[old]

        def replace(match: re.Match, old=old, module=module) -> str:
            names = _names(match["names"])
            submodules = [(n, a) for n, a in names if n in SUBMODULES[old]]
            others = [(n, a) for n, a in names if n not in SUBMODULES[old]]
            if not others:
                return match[0]
            lines = [_from_line(match["indent"], f"iam.{old}", submodules)] if submodules else []
            lines.append(_from_line(match["indent"], f"iam.{module}", others))
            lines[0] += match["comment"] or ""
            return "\n".join(lines)

        text = _from_package(old).sub(replace, text)
    return text


def _dotted(old: str) -> re.Pattern:
    if old in PACKAGES:
        # The name is also a new package: its modules, and `from iam.x import`, are the new form already.
        submodules = "|".join(sorted(SUBMODULES[old]))
        return re.compile(rf"(?<![\w.])(?<!from )iam\.{old}(?!\w)(?!\.(?:{submodules})(?!\w))")
    return re.compile(rf"(?<![\w.])iam\.{old}(?!\w)")


DOTTED = {old: _dotted(old) for old in MOVES}
# Old places named as paths: iam/sync.py, iam/operations/ (and iam/operations alone).
PATHS = {
    old: re.compile(rf"(?<![\w/.-])iam/{old}(?=/|(?![\w.]))")
    if old in MOVED_PACKAGES
    else re.compile(rf"(?<![\w/.-])iam/{old}\.py(?!\w)")
    for old in MOVES
}


def _new_path_text(old: str) -> str:
    parts = MOVES[old].split(".")
    return "iam/" + "/".join(parts) + ("" if old in MOVED_PACKAGES else ".py")


def rewrite_dotted_and_paths(text: str) -> str:
    for old in sorted(MOVES, key=len, reverse=True):
        text = DOTTED[old].sub(f"iam.{MOVES[old]}", text)
        text = PATHS[old].sub(_new_path_text(old), text)
    return text


def rename_locals(text: str, renames: dict[str, str]) -> str:
    """`drift.adopt(...)` -> `drift_actions.adopt(...)` where `drift` was the module imported bare: code only,
    never inside strings or comments (tokenize tells them apart)."""
    if not renames:
        return text
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    lines = text.splitlines(keepends=True)
    edits = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in renames:
            continue
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        before = tokens[index - 1] if index else None
        if after is None or after.string != ".":
            continue
        if before is not None and before.string in {".", "import", "def", "class"}:
            continue
        edits.append((token.start, token.end, renames[token.string]))
    for (row, col), (_, end), name in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + name + line[end:]
    return "".join(lines)


def rewrite_file(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    renames: dict[str, str] = {}
    new = rewrite_moved_names(text)
    new = rewrite_from_iam(new, renames)
    new = rewrite_from_shared_name(new)
    new = rewrite_dotted_and_paths(new)
    if path.suffix == ".py":
        new = rename_locals(new, renames)
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def _ruff() -> str | None:
    local = ROOT / ".venv" / "bin" / "ruff"
    return str(local) if local.exists() else shutil.which("ruff")


def tidy(paths: list[Path]) -> None:
    """Imports split by the rewrite are sorted and the lines formatted, as `make lint` wants them."""
    ruff = _ruff()
    python = [str(path.relative_to(ROOT)) for path in paths if path.suffix == ".py"]
    if ruff is None or not python:
        print("ruff not found: run `ruff check --fix --select I . && ruff format .` yourself")
        return
    subprocess.run([ruff, "check", "--fix", "--select", "I", "--quiet", *python], cwd=ROOT, check=False)  # noqa: S603
    subprocess.run([ruff, "format", "--quiet", *python], cwd=ROOT, check=True)  # noqa: S603


# --- checking ----------------------------------------------------------------------------------------------


def stale_references(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FROM_IAM.finditer(text):
        stale = [name for name, _ in _names(match["names"]) if name in MOVES]
        if stale:
            found.append((match.start(), f"from iam import {', '.join(stale)}"))
    for old in MOVES:
        found += [(m.start(), m[0]) for m in DOTTED[old].finditer(text)]
        found += [(m.start(), m[0]) for m in PATHS[old].finditer(text)]
        if old in PACKAGES:
            for match in _from_package(old).finditer(text):
                stale = [name for name, _ in _names(match["names"]) if name not in SUBMODULES[old]]
                if stale:
                    found.append((match.start(), f"from iam.{old} import {', '.join(stale)}"))
    relative = path.relative_to(ROOT)
    return [f"{relative}:{text.count(chr(10), 0, at) + 1}: {what}" for at, what in sorted(set(found))]


def unknown_modules() -> list[str]:
    known = set(MOVES) | STAYS | set(PACKAGES)
    unknown = []
    for entry in sorted(IAM.iterdir()):
        name = entry.stem if entry.suffix == ".py" else entry.name
        is_module = entry.suffix == ".py" or (entry.is_dir() and any(entry.glob("*.py")))
        if is_module and name not in known:
            unknown.append(str(entry.relative_to(ROOT)))
    return unknown


def check() -> int:
    problems = []
    for old in MOVES:
        source = _old_path(old)
        if source.exists():
            problems.append(f"{source.relative_to(ROOT)}: not moved yet (to {_new_path(old).relative_to(ROOT)})")
    for path in repository_files():
        problems += stale_references(path)
    for module in unknown_modules():
        problems.append(f"{module}: a top-level iam module in neither MOVES nor STAYS: place it in MOVES")
    print("\n".join(problems) if problems else "iam/ is grouped; nothing refers to an old place")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="report old references and unknown modules; change nothing"
    )
    parser.add_argument("--no-tidy", action="store_true", help="do not run ruff on the rewritten files")
    args = parser.parse_args()
    if args.check:
        return check()
    for line in move_modules():
        print(line)
    changed = [path for path in repository_files() if rewrite_file(path)]
    for path in changed:
        print(f"rewrote {path.relative_to(ROOT)}")
    if changed and not args.no_tidy:
        tidy(changed)
    return check()


if __name__ == "__main__":
    sys.exit(main())
