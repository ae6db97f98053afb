"""Who may do what, and where: the province's policy as data (access-policy.yaml) and one pure
decision function over it.

`decide(policy, organisation, principal, action, target)` answers allow or deny with a reason
that names no personal data (it is logged and recorded as a security event). `reach(...)`
answers the same question for a whole list or queue, as a filter to apply before reading.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from motcua_common.events.context import Actor
from motcua_common.province.organisation import Organisation

REACHES = ("own_unit", "own_unit_and_below", "any_unit", "own_dossier", "own_client", "platform")
ABOUT = ("dossier", "platform")
#: the reach each kind of principal may be granted (an official never gets own_dossier, etc.)
_REACHES_BY_KIND = {
    "official": {"own_unit", "own_unit_and_below", "any_unit", "platform"},
    "citizen": {"own_dossier"},
    "integrator": {"any_unit", "own_client", "platform"},
}


class PolicyDataError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    """A verified identity (motcua_common.identity.tokens builds it from an access token's claims)."""

    kind: str                      # official | citizen | integrator (never system)
    subject: str                   # official: username; citizen: pseudonymous sub; integrator: client id
    roles: frozenset[str] = frozenset()
    unit: str = ""
    scopes: frozenset[str] = frozenset()
    client: str = ""               # the OAuth client the token was issued to (azp)
    citizen_id: str = field(default="", repr=False)  # the ID claim; never recorded, never logged
    applicant: str = ""            # citizens: the pseudonymous subject id of their own citizen ID (the edge sets it)

    def actor(self, on_behalf_of: str = "") -> Actor:
        """The actor recorded on events: never the citizen ID (a citizen is their pseudonymous sub)."""
        return Actor(kind=self.kind, subject=self.subject, role=",".join(sorted(self.roles)), unit=self.unit,
                     client=self.client, on_behalf_of=on_behalf_of)


@dataclass(frozen=True)
class Target:
    """What an action is about. Empty for platform actions."""

    unit: str = ""                 # the unit the dossier is at now (received there or transferred there)
    applicant: str = ""            # the applicant's pseudonymous subject id (privacy.sealing.subject_id_for)
    client: str = ""               # the integrator client that submitted it, if one did
    dossier_id: Any = None         # which dossier (for the security event of a refusal), not decided on
    dossier_code: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Reach:
    """Which dossiers a list or queue may show: everything, some units, or some owner's/client's."""

    everything: bool = False
    units: frozenset[str] = frozenset()
    applicant: str = ""
    client: str = ""

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.units or self.applicant or self.client)


@dataclass(frozen=True)
class ActionRule:
    name: str
    about: str
    public: bool = False
    writes: bool = False
    personal_data: bool = False


@dataclass(frozen=True)
class RoleRule:
    name: str
    grants: dict[str, str]
    read_only: bool = False
    no_personal_data: bool = False


@dataclass(frozen=True)
class Policy:
    actions: dict[str, ActionRule]
    roles_by_name: dict[str, RoleRule]
    citizen_grants: dict[str, str]
    scope_grants: dict[str, dict[str, str]]

    def roles(self) -> frozenset[str]:
        return frozenset(self.roles_by_name)

    @classmethod
    def from_data(cls, data: dict) -> "Policy":
        actions: dict[str, ActionRule] = {}
        for name, raw in (data.get("actions") or {}).items():
            raw = raw or {}
            unknown = set(raw) - {"public", "about", "writes", "personal_data"}
            if unknown:
                raise PolicyDataError(f"action {name}: unknown keys {sorted(unknown)}")
            about = raw.get("about", "dossier")
            if about not in ABOUT:
                raise PolicyDataError(f"action {name}: about must be one of {ABOUT}, not {about!r}")
            actions[str(name)] = ActionRule(str(name), about, bool(raw.get("public", False)),
                                            bool(raw.get("writes", False)), bool(raw.get("personal_data", False)))

        def grants(where: str, raw: dict | None, kind: str) -> dict[str, str]:
            result = {}
            for action, reach in (raw or {}).items():
                rule = actions.get(action)
                if rule is None:
                    raise PolicyDataError(f"{where}: {action} is not an action of the policy")
                if reach not in REACHES or reach not in _REACHES_BY_KIND[kind]:
                    raise PolicyDataError(f"{where}: {action}: reach {reach!r} cannot be granted to {kind}s")
                if (reach == "platform") != (rule.about == "platform"):
                    raise PolicyDataError(f"{where}: {action} is about a {rule.about}: reach {reach!r} does not fit")
                result[str(action)] = str(reach)
            return result

        roles = {}
        for name, raw in (data.get("roles") or {}).items():
            raw = raw or {}
            role = RoleRule(str(name), grants(f"role {name}", raw.get("grants"), "official"),
                            bool(raw.get("read_only", False)), bool(raw.get("no_personal_data", False)))
            for action in role.grants:
                if role.read_only and actions[action].writes:
                    raise PolicyDataError(f"role {name} is read-only but is granted {action}, which writes")
                if role.no_personal_data and actions[action].personal_data:
                    raise PolicyDataError(f"role {name} has no personal data but is granted {action}")
            roles[str(name)] = role
        citizen = grants("citizen", (data.get("citizen") or {}).get("grants"), "citizen")
        scopes = {str(scope): grants(f"scope {scope}", raw, "integrator")
                  for scope, raw in (data.get("scopes") or {}).items()}
        return cls(actions, roles, citizen, scopes)

    @classmethod
    def load(cls, path: Path) -> "Policy":
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def _grants_of(policy: Policy, principal: Principal, action: str) -> list[tuple[str, str]]:
    """(who, reach) for every grant of `action` the principal holds."""
    if principal.kind == "official":
        return [(f"role {r}", policy.roles_by_name[r].grants[action]) for r in sorted(principal.roles)
                if r in policy.roles_by_name and action in policy.roles_by_name[r].grants]
    if principal.kind == "citizen":
        return [("citizen", policy.citizen_grants[action])] if action in policy.citizen_grants else []
    if principal.kind == "integrator":
        return [(f"scope {s}", policy.scope_grants[s][action]) for s in sorted(principal.scopes)
                if s in policy.scope_grants and action in policy.scope_grants[s]]
    return []


def units_below(organisation: Organisation, unit: str) -> frozenset[str]:
    """The unit and every unit below it, following `parent` links downwards."""
    children: dict[str, list[str]] = {}
    for u in organisation.units():
        if u.parent:
            children.setdefault(u.parent, []).append(u.code)
    found, todo = {unit}, [unit]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


def _matches(organisation: Organisation, principal: Principal, reach: str, target: Target) -> tuple[bool, str]:
    if reach in ("platform", "any_unit"):
        return True, reach
    if reach == "own_unit":
        ok = bool(principal.unit) and target.unit == principal.unit
        return ok, "own unit" if ok else "the dossier is not at the official's unit"
    if reach == "own_unit_and_below":
        ok = bool(principal.unit) and bool(target.unit) and target.unit in units_below(organisation, principal.unit)
        return ok, "own unit or below" if ok else "the dossier is not at the official's unit or a unit below it"
    if reach == "own_dossier":
        ok = bool(target.applicant) and target.applicant == principal.applicant
        return ok, "own dossier" if ok else "the dossier is not the citizen's own"
    if reach == "own_client":
        ok = bool(principal.client) and target.client == principal.client
        return ok, "submitted by this client" if ok else "the dossier was not submitted by this client"
    return False, f"unknown reach {reach}"


def decide(policy: Policy, organisation: Organisation, principal: Principal | None, action: str,
           target: Target = Target()) -> Decision:
    """Allow or deny `action` on `target`; the reason names roles, scopes and reaches, never personal data."""
    rule = policy.actions.get(action)
    if rule is None:
        return Decision(False, f"{action} is not an action of the policy")
    if rule.public:
        return Decision(True, "public")
    if principal is None:
        return Decision(False, f"{action} needs a verified identity")
    if principal.kind not in _REACHES_BY_KIND:
        return Decision(False, f"a {principal.kind} identity is not accepted from outside the platform")
    grants = _grants_of(policy, principal, action)
    if not grants:
        held = {"official": f"roles {sorted(principal.roles)}", "citizen": "a citizen",
                "integrator": f"scopes {sorted(principal.scopes)}"}[principal.kind]
        return Decision(False, f"{held} may not {action}")
    if rule.about == "dossier" and not target.unit:
        return Decision(False, f"{action} needs the dossier's unit to be decided")
    refusals = []
    for who, reach in grants:
        if principal.kind == "official" and who.startswith("role "):
            role = policy.roles_by_name[who[5:]]
            # The data is checked on load; checked again here so an edited policy object cannot widen them.
            if role.read_only and rule.writes:
                refusals.append(f"{who} is read-only")
                continue
            if role.no_personal_data and rule.personal_data:
                refusals.append(f"{who} may not see personal data")
                continue
        ok, why = _matches(organisation, principal, reach, target)
        if ok:
            return Decision(True, f"{who}: {why}")
        refusals.append(f"{who}: {why}")
    return Decision(False, "; ".join(refusals))


def reach(policy: Policy, organisation: Organisation, principal: Principal | None, action: str) -> Reach:
    """The dossiers a list or queue for `action` may show the principal (Reach.nothing: deny the list)."""
    rule = policy.actions.get(action)
    if rule is None or principal is None or principal.kind not in _REACHES_BY_KIND:
        return Reach()
    if rule.public:
        return Reach(everything=True)
    units: set[str] = set()
    result = Reach()
    for who, granted in _grants_of(policy, principal, action):
        if who.startswith("role "):
            role = policy.roles_by_name[who[5:]]
            if (role.read_only and rule.writes) or (role.no_personal_data and rule.personal_data):
                continue
        if granted in ("any_unit", "platform"):
            return Reach(everything=True)
        if granted == "own_unit" and principal.unit:
            units.add(principal.unit)
        elif granted == "own_unit_and_below" and principal.unit:
            units |= units_below(organisation, principal.unit)
        elif granted == "own_dossier":
            result = Reach(applicant=principal.applicant) if principal.applicant else result
        elif granted == "own_client" and principal.client:
            result = Reach(client=principal.client)
    if units:
        return Reach(units=frozenset(units))
    return result
