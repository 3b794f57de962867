"""Check the supply chain's three lists agree: every pin of requirements*.txt is in the lock at the same
version, and every package of the lock is in the CycloneDX SBOM of the installed environment at the
version locked. Used by `make sbom` and CI (after `make install`).

    python scripts/check_sbom.py var/sbom.cdx.json requirements.lock requirements.txt requirements-dev.txt
"""

import json
import re
import sys
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalise(name: str) -> str:
    """PEP 503: case, dots, dashes and underscores do not tell packages apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if match := PIN.match(line.strip()):
            found[normalise(match[1])] = match[2]
    return found


def sbom_components(path: Path) -> dict[str, str]:
    document = json.loads(path.read_text())
    return {normalise(component["name"]): component.get("version", "") for component in document["components"]}


def problems(sbom: Path, lock: Path, requirements: list[Path]) -> list[str]:
    locked, installed = pins(lock), sbom_components(sbom)
    found = []
    for requirement in requirements:
        for name, version in pins(requirement).items():
            if locked.get(name) != version:
                found.append(f"{requirement}: {name}=={version}, but {lock} has {locked.get(name, 'nothing')}")
    for name, version in sorted(locked.items()):
        if installed.get(name) != version:
            found.append(f"{lock}: {name}=={version}, but the SBOM has {installed.get(name, 'nothing')}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    sbom, lock, *requirements = (Path(arg) for arg in argv)
    found = problems(sbom, lock, requirements)
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print("Run `make lock` after changing requirements*.txt, then `make install`.", file=sys.stderr)
        return 1
    print(f"{len(pins(lock))} locked packages, all in {sbom} at the locked version.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
