"""Every audit action the service writes has a label in the reader's language.

The actions are read from the code that writes them (`record(session, actor, "…")` of
`app.audit.service`, a batch's `add(actor, "…")`, an `action="…"` handed to a function that
records it, the policy's actions that a refusal names), so an action added later without a
label fails here rather than showing its code to a ward or an auditor."""

from __future__ import annotations

import ast
from pathlib import Path

from app.audit import repository as audit_repository
from app.auth.policy import Action
from app.console.audit_labels import AUDIT_LABELS, TARGET_LABELS
from app.console.i18n import i18n
from app.extractions.schemas import DecisionIn
from app.footage.models import SegmentSource

APP = Path(__file__).resolve().parents[2] / "app"

#: The actions written with a computed name, each spelled out from what computes it.
COMPUTED = {
    "footage.{source.value}": {f"footage.{s.value}" for s in SegmentSource},
    "extraction.{data.decision}": {
        f"extraction.{d}" for d in DecisionIn.model_fields["decision"].annotation.__args__
    },
    "case.{('close' if status == CaseStatus.closed else 'reopen')}": {"case.close", "case.reopen"},
}
#: Action arguments that are not names: a refusal's (`app.refusals`: a policy action, or
#: `auth.reject`) and a parameter handed on (its callers pass `action="…"`, read below).
PASSED_ON = {"args.pop('action')", "action"}


def _strings(node: ast.expr) -> set[str] | None:
    """The names an action argument can take; None when it is computed otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        a, b = _strings(node.body), _strings(node.orelse)
        return None if a is None or b is None else a | b
    if isinstance(node, ast.JoinedStr):
        return COMPUTED.get(ast.unparse(node)[2:-1])
    return None


def written_actions() -> tuple[set[str], list[str]]:
    """(every action name the code writes, the calls whose name could not be read)."""
    found: set[str] = set()
    unread: list[str] = []
    for path in APP.rglob("*.py"):
        if "console" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        audits = any(
            isinstance(n, ast.ImportFrom) and n.module == "app.audit.service"
            and any(a.name == "record" for a in n.names)
            for n in ast.walk(tree)
        )
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for kw in node.keywords:
                if kw.arg == "action" and (names := _strings(kw.value)) is not None:
                    found |= names
                if kw.arg == "audit" and isinstance(kw.value, ast.Dict):  # `Forbidden(audit=…)`
                    found |= _dict_action(kw.value)
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if isinstance(func, ast.IfExp):  # `(batch.add if … else partial(record, s))(…)`
                name = "add"
            if name == "record" and audits and len(node.args) >= 3:
                arg = node.args[2]
            elif name == "add" and len(node.args) >= 2 and _is_audit_add(node):
                arg = node.args[1]
            else:
                continue
            names = _strings(arg)
            if names is None and ast.unparse(arg) in PASSED_ON:
                continue
            if names is None:
                unread.append(f"{path.relative_to(APP)}:{node.lineno} {ast.unparse(arg)}")
            else:
                found |= names
    return found, unread


def _dict_action(node: ast.Dict) -> set[str]:
    """The action a refusal's audit dict names (`{"action": "case.read", …}`), if constant."""
    for key, value in zip(node.keys, node.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "action":
            return _strings(value) or set()
    return set()


def _is_audit_add(node: ast.Call) -> bool:
    """A call of an audit batch's `add(actor, action, …)`: its second argument names an
    action (a string with a dot, or a computed one), not a set's or a session's `add`."""
    arg = node.args[1]
    if isinstance(arg, ast.JoinedStr):
        return True
    return isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value


def test_every_written_or_refused_action_has_a_label() -> None:
    written, unread = written_actions()
    assert not unread, f"action names the test cannot read: {unread}"
    # the scan finds what it should (a sign-in, a recorded segment, a decision, a refusal's)
    assert {"signin", "footage.record", "extraction.approve", "camera.create"} <= written
    refused = {a.value for a in Action} | {"auth.reject"}
    missing = sorted((written | refused) - AUDIT_LABELS.keys())
    assert not missing, f"audit actions without a label: {missing}"


def test_the_access_log_leaves_out_what_the_recorder_writes() -> None:
    """The name the access log leaves out is the one recorded segments are written with."""
    assert f"footage.{SegmentSource.record.value}" == audit_repository.RECORDED


def test_every_label_reads_in_vietnamese() -> None:
    vi = i18n("vi")
    untranslated = [k for k, v in AUDIT_LABELS.items() if vi.gettext(v) == v]
    assert not untranslated, untranslated


def test_every_target_type_written_has_a_label() -> None:
    """What an entry is about (`target_type="…"` wherever the code writes one, and the
    objects a refusal names) reads as a word, not a code."""
    written: set[str] = set()
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "target_type":
                written |= _strings(node.value) or set()
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value == "target_type":
                        written |= _strings(v) or set()
    assert {"camera", "user", "extraction", "segment"} <= written
    refused = {"camera", "event", "extraction", "segment"}  # app.refusals.cameras_of_path
    assert not (written | refused) - TARGET_LABELS.keys()
    vi = i18n("vi")
    assert vi.gettext(TARGET_LABELS["user"]) != TARGET_LABELS["user"]
