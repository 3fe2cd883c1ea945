"""A photo's verdict put together: the photo's own judgement, other renderings and embedded pictures.

The result types themselves live in `imagegate.results` (re-exported here for
existing imports).
"""

from __future__ import annotations

from collections.abc import Iterable

from ..codes import SEVERITY_OF, ReasonCode, Severity
from ..results import Caution, FaceReport, Failure, Reason, Verdict, ViewReport, order_reasons

__all__ = ["FaceReport", "Failure", "Verdict", "ViewReport", "order_reasons", "views_reasons"]


def views_reasons(views: Iterable[ViewReport], cautions: Iterable[Caution], faces=(), *,
                  cap: int) -> tuple[Reason, ...]:
    """Why other renderings and embedded pictures were checked, what they showed, and what could not be
    (`cap`: how many embedded pictures are decoded). A view's reason about people the photo's own `faces`
    already account for is not repeated."""
    known = {_who(f) for f in faces}
    out = []
    for v in views:
        code = ReasonCode.EMBEDDED_CHECKED if v.view.embedded else ReasonCode.RENDERING_CHECKED
        where = {"view": v.view.kind, "number": v.view.number}
        out.append(Reason(code, None, SEVERITY_OF[v.decision], params={**where, "decision": v.decision}))
        # the view's own faces are numbered in its pixels, not the photo's: named in the text only
        out += [Reason(r.code, r.rule, r.severity, (), where, inner=r)
                for r in v.reasons if r.severity in (Severity.BLOCK, Severity.CONSENT)
                and not (r.faces and {_who(v.faces[i]) for i in r.faces} <= known)]
    for c in cautions:
        out.append(Reason(c.code, None, Severity.CONSENT, params={"count": c.count, "cap": cap}))
    return tuple(out)


def _who(face: FaceReport) -> tuple[str, str | None]:
    return face.status.status, face.status.person.name if face.status.person else None
