"""Every AWS call the code under iam/ makes, found by reading its source with `ast`.

Three forms reach AWS (iam/aws/gateway.py's module docstring): `gateway.call/pages/collect(access, "service",
"operation", ...)`, inside the gateway `call/pages/collect(...)` and `_call(client.operation, ...)` on a client
bound from `iam_client(...)` or `_client(..., "service")`. An operation named by an f-string becomes a
pattern; a service or operation the walker cannot read is reported, so nothing slips past unread.
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

IAM_DIR = Path(__file__).resolve().parents[2] / "iam"
_HELPERS = {"call", "pages", "collect"}


@dataclass(frozen=True)
class Found:
    service: str
    operation: str  # boto3's snake_case name, or a regex when `pattern`
    where: str
    pattern: bool = False


def _literal(node) -> tuple[str, bool] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, False
    if isinstance(node, ast.JoinedStr):
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else r"\w+" for v in node.values]
        return "".join(parts), True
    return None


def _client_service(node, bound: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return bound.get(node.id)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "iam_client":
            return "iam"
        if node.func.id in {"_client", "client_for"} and node.args:
            found = _literal(node.args[-1])
            return found[0] if found and not found[1] else None
    return None


def _walk_function(tree, path: Path, found: list[Found], unread: list[str]) -> None:
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            service = _client_service(node.value, {})
            if service:
                bound[node.targets[0].id] = service
    in_gateway = path.name == "gateway.py"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{path.relative_to(IAM_DIR.parent)}:{node.lineno}"
        func = node.func
        helper = (
            isinstance(func, ast.Attribute)
            and func.attr in _HELPERS
            and isinstance(func.value, ast.Name)
            and func.value.id == "gateway"
        ) or (in_gateway and isinstance(func, ast.Name) and func.id in _HELPERS)
        if helper:
            if in_gateway and isinstance(func, ast.Name) and all(isinstance(a, ast.Name) for a in node.args[1:3]):
                continue  # the generic helpers passing their own arguments on
            service = _literal(node.args[1]) if len(node.args) > 2 else None
            operation = _literal(node.args[2]) if len(node.args) > 2 else None
            if not service or service[1] or not operation:
                unread.append(where)
                continue
            found.append(Found(service[0], operation[0], where, operation[1]))
        elif in_gateway and isinstance(func, ast.Name) and func.id == "_call":
            target = node.args[0] if node.args else None
            if isinstance(target, ast.Name) and target.id == "fn":
                continue  # `_call` itself
            if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and target.func.id == "getattr":
                continue  # `call`: the operation comes from its caller, read above
            service = _client_service(target.value, bound) if isinstance(target, ast.Attribute) else None
            if not service:
                unread.append(where)
                continue
            found.append(Found(service, target.attr, where))


def aws_calls() -> tuple[list[Found], list[str]]:
    """(every call found, every call site the walker could not read)."""
    found: list[Found] = []
    unread: list[str] = []
    for path in sorted(IAM_DIR.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = ast.parse(path.read_text(), str(path))
        for function in ast.walk(module):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _walk_function(function, path, found, unread)
    # Nested functions are walked twice (once inside their parent): keep one of each.
    return sorted(set(found), key=lambda f: (f.service, f.operation, f.where)), sorted(set(unread))


if __name__ == "__main__":
    calls, unread_sites = aws_calls()
    for call in calls:
        print(call.service, call.operation, call.pattern, call.where)
    print("UNREAD", unread_sites)
