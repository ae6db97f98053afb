"""Load process templates from the province's data file."""
from __future__ import annotations

from pathlib import Path

import yaml

from motcua_workflow.domain.templates import ProcessTemplates, StepTemplate


class TemplateDataError(ValueError):
    pass


def _steps(raw: list, where: str) -> list[StepTemplate]:
    steps = [StepTemplate(code=s["code"], name=s["name"], role=s["role"], unit=s["unit"], share=float(s["share"]))
             for s in raw]
    if not steps:
        raise TemplateDataError(f"{where}: a template needs at least one step")
    if abs(sum(s.share for s in steps) - 1.0) > 1e-6:
        raise TemplateDataError(f"{where}: step shares must sum to 1, not {sum(s.share for s in steps)}")
    return steps


def load_templates(path: Path) -> ProcessTemplates:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return ProcessTemplates(
        default=_steps(data["default"], f"{path.name}: default"),
        by_procedure={code: _steps(raw, f"{path.name}: procedures.{code}")
                      for code, raw in (data.get("procedures") or {}).items()},
    )
