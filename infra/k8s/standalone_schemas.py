"""Kubernetes JSON schemas for kubeconform, offline and reproducible.

The PyPI package kubernetes-validate carries the schemas of Kubernetes 1.25-1.37 with
`$ref`s into a shared _definitions.json; kubeconform cannot resolve those from disk,
so this inlines them ("standalone", as kubeconform's own schema repository does) for
the kinds the chart renders.

    python infra/k8s/standalone_schemas.py 1.31.0 build/k8s-schemas
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import kubernetes_validate

KINDS = ["deployment-apps-v1", "service-v1", "serviceaccount-v1", "configmap-v1", "job-batch-v1",
         "ingress-networking-v1", "networkpolicy-networking-v1", "poddisruptionbudget-policy-v1",
         "horizontalpodautoscaler-autoscaling-v2"]


def main(version: str, out: Path) -> None:
    source = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]

    def inline(node: object, seen: frozenset[str]) -> object:
        if isinstance(node, dict):
            if "$ref" in node:
                name = node["$ref"].split("#/$defs/")[1]
                if name in seen:  # recursive types (JSONSchemaProps) only occur in CRD schemas
                    return {}
                return inline(definitions[name], seen | {name})
            return {key: inline(value, seen) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        return node

    target = out / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        schema = inline(json.loads((source / f"{kind}.json").read_text()), frozenset())
        (target / f"{kind}.json").write_text(json.dumps(schema, sort_keys=True))
    print(f"{len(KINDS)} standalone schemas for Kubernetes {version} in {target}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
