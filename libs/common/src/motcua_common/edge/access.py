"""Who is calling, and may they: authentication and authorisation at every gRPC edge.

Every RPC of a service declares a `Guard`: the policy action it performs (access-policy.yaml)
and, for an action about one dossier, how to find that dossier's `Target` (its unit, its
applicant's pseudonymous subject id, the client that submitted it) from the request, in the
service's own read model. The edge (EdgeInterceptor) then, before the handler runs:

  1. verifies the bearer token (motcua_common.identity.tokens): none or a bad one ->
     UNAUTHENTICATED, unless the action is public (the procedure catalogue);
  2. refuses identity claimed in metadata (`x-motcua-actor-*`: the actor comes from the token only)
     and on-behalf-of from a caller not granted `dossier.submit_on_behalf`;
  3. decides the action: a platform action at once, a dossier action on the located target, a
     list on the principal's reach (the handler filters by `listing()`);
  4. records every refusal as a security event (the service's `record_denial`) and logs it without
     personal data, then answers PERMISSION_DENIED with the reason.

A citizen or integrator asking for a dossier that is not theirs and one that does not exist get the
same answer, so sequential dossier codes reveal nothing to a stranger.

Handlers read the verified actor with `caller()` (what events record) and a list's filter with
`listing()`.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

from motcua_common.edge.admission import CallerRateLimits
from motcua_common.errors import PermissionDenied, Unauthenticated, Unavailable
from motcua_common.events.context import Actor
from motcua_common.identity.authorisation import Policy, Principal, Reach, Target, decide, reach
from motcua_common.identity.tokens import KeySourceUnavailable, TokenRefused
from motcua_common.observability.logs import get_logger
from motcua_common.province.organisation import Organisation

log = get_logger()

#: metadata naming a citizen an integrator submits for (the national portal): their citizen ID
ON_BEHALF_OF_METADATA = "x-motcua-on-behalf-of"
#: metadata that once claimed an identity; refused now that the identity comes from the token
CLAIMED_IDENTITY_PREFIX = "x-motcua-actor-"
ON_BEHALF_ACTION = "dossier.submit_on_behalf"
#: a citizen or integrator whose reach is only their own dossiers learns nothing from a code
_OWN_ONLY_REACHES = {"own_dossier", "own_client"}

#: (actor, rpc, action, reason, dossier id or None, dossier code) -> None; MotcuaApplication.record_denial
DenialRecorder = Callable[[Actor, str, str, str, Any, str], None]


@dataclass(frozen=True)
class Guard:
    """How the edge authorises one RPC.

    `locate(request)` finds the target of a dossier action before the handler runs (None: no such
    dossier; the handler then answers NOT_FOUND to those who may see any dossier of a unit).
    `listing=True`: the RPC lists dossiers; the edge refuses a principal who may see none and the
    handler filters by `listing()`. `on_behalf_action`: the action decided instead when the caller
    names a citizen it acts for (SubmitDossier).
    """

    action: str
    locate: Callable[[Any], Target | None] | None = None
    listing: bool = False
    on_behalf_action: str = ""


@dataclass(frozen=True)
class CallAccess:
    principal: Principal | None
    action: str
    on_behalf_of: str = ""  # the pseudonymous subject id of the citizen an integrator acts for
    reach: Reach = field(default_factory=Reach)

    def actor(self) -> Actor:
        if self.principal is None:
            return Actor(kind="anonymous")
        return self.principal.actor(on_behalf_of=self.on_behalf_of)


_current: contextvars.ContextVar[CallAccess | None] = contextvars.ContextVar("motcua_call_access", default=None)


def caller() -> Actor:
    """The verified actor of the call being served (what its events record)."""
    access = _current.get()
    if access is None:
        raise RuntimeError("caller() outside a call the edge authorised")
    return access.actor()


def caller_principal() -> Principal | None:
    access = _current.get()
    return access.principal if access is not None else None


def listing() -> Reach:
    """The dossiers the call being served may list (set by the edge for a listing guard)."""
    access = _current.get()
    if access is None:
        raise RuntimeError("listing() outside a call the edge authorised")
    return access.reach


class Gate:
    """One edge process's authentication and authorisation (built from settings by run_edge)."""

    def __init__(self, verifier: Any, policy: Policy, organisation: Organisation,
                 pseudonym: Callable[[str], str], record_denial: DenialRecorder | None = None,
                 rate_limits: CallerRateLimits | None = None) -> None:
        self.verifier = verifier
        self.policy = policy
        self.organisation = organisation
        self.pseudonym = pseudonym  # citizen ID -> its pseudonymous subject id (privacy.sealing.subject_id_for)
        self.record_denial = record_denial
        self.rate_limits = rate_limits

    def check_guards(self, service: str, guards: Mapping[str, Guard]) -> None:
        for rpc, guard in guards.items():
            for action in (guard.action, guard.on_behalf_action):
                if action and action not in self.policy.actions:
                    raise ValueError(f"{service}/{rpc}: {action} is not an action of the access policy")

    def authenticate(self, metadata: tuple) -> Principal | None:
        """The caller's verified principal, None without a token; Unauthenticated for a bad token."""
        tokens = [v for k, v in metadata if k == "authorization"]
        if not tokens:
            return None
        if len(tokens) > 1 or not isinstance(tokens[0], str):
            raise Unauthenticated("send exactly one authorization header: Bearer <access token>")
        scheme, _, token = tokens[0].partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the authorization header must be: Bearer <access token>")
        try:
            principal = self.verifier.verify(token.strip())
        except TokenRefused as refused:
            raise Unauthenticated(str(refused)) from None
        except KeySourceUnavailable as unavailable:
            # Not the caller's fault: the issuer's keys cannot be fetched now; a retry may succeed.
            raise Unavailable(f"the access token cannot be checked now: {unavailable}") from None
        if principal.kind == "citizen" and principal.citizen_id:
            principal = replace(principal, applicant=self.pseudonym(principal.citizen_id))
        return principal

    def admit(self, rpc: str, guard: Guard, request: Any, metadata: tuple, peer: str = "") -> CallAccess:
        """Authenticate, rate-limit (Overloaded) and authorise one call (Unauthenticated /
        PermissionDenied), recording refusals."""
        principal: Principal | None = None
        located: list[Target] = []
        try:
            principal = self.authenticate(metadata)
            if self.rate_limits is not None:  # before anything costly, refused calls included
                self.rate_limits.take(principal.kind if principal else "anonymous",
                                      principal.subject if principal else "", peer, rpc)
            return self._authorise(rpc, guard, request, metadata, principal, located)
        except (Unauthenticated, PermissionDenied) as refusal:
            self._refused(rpc, guard.action, principal, refusal, located[0] if located else None)
            raise

    def _authorise(self, rpc: str, guard: Guard, request: Any, metadata: tuple,
                   principal: Principal | None, located: list[Target]) -> CallAccess:
        claimed = sorted({k for k, _ in metadata if k.startswith(CLAIMED_IDENTITY_PREFIX)})
        if claimed:
            raise PermissionDenied(f"identity comes from the access token only; metadata {', '.join(claimed)} "
                                   "is refused")
        rule = self.policy.actions[guard.action]
        if rule.public:
            return CallAccess(principal, guard.action)
        if principal is None:
            raise Unauthenticated(f"{rpc} needs an access token (authorization: Bearer <token>)")
        action, on_behalf_of = guard.action, ""
        behalf = [v for k, v in metadata if k == ON_BEHALF_OF_METADATA]
        if behalf:
            if not guard.on_behalf_action:
                raise PermissionDenied(f"{rpc} is not done on behalf of a citizen")
            action = guard.on_behalf_action
            citizen_id = behalf[0] if isinstance(behalf[0], str) else ""
            if len(behalf) > 1 or not (len(citizen_id) == 12 and citizen_id.isascii() and citizen_id.isdigit()):
                raise PermissionDenied(f"{ON_BEHALF_OF_METADATA} must be one citizen ID of 12 digits")
            on_behalf_of = self.pseudonym(citizen_id)
        if guard.listing:
            allowed = reach(self.policy, self.organisation, principal, action)
            if allowed.nothing:
                raise PermissionDenied(decide(self.policy, self.organisation, principal, action).reason
                                       or f"{action}: nothing to list")
            return CallAccess(principal, action, on_behalf_of, allowed)
        if self.policy.actions[action].about == "platform" or guard.locate is None:
            decision = decide(self.policy, self.organisation, principal, action)
            if not decision:
                raise PermissionDenied(decision.reason)
            return CallAccess(principal, action, on_behalf_of)
        target = guard.locate(request)
        if target is None:
            # Those who may see a unit's dossiers learn that this one does not exist (NOT_FOUND from the
            # handler); those who may see only their own get the answer a stranger's dossier gets.
            grants = reach(self.policy, self.organisation, principal, action)
            if grants.everything or grants.units:
                return CallAccess(principal, action, on_behalf_of)
            raise PermissionDenied(f"{action}: no dossier of yours has this id or code")
        located.append(target)
        if on_behalf_of and target.applicant and target.applicant != on_behalf_of:
            raise PermissionDenied(f"the applicant must be the citizen named in {ON_BEHALF_OF_METADATA}")
        decision = decide(self.policy, self.organisation, principal, action, target)
        if not decision:
            raise PermissionDenied(decision.reason)
        return CallAccess(principal, action, on_behalf_of)

    def _refused(self, rpc: str, action: str, principal: Principal | None, refusal: Exception,
                 target: Target | None) -> None:
        actor = principal.actor() if principal is not None else Actor(kind="anonymous")
        code = "UNAUTHENTICATED" if isinstance(refusal, Unauthenticated) else "PERMISSION_DENIED"
        log.warning("access_denied", rpc=rpc, action=action, code=code, reason=str(refusal)[:300],
                    actor_kind=actor.kind, actor_subject=actor.subject if actor.kind != "citizen" else "",
                    actor_unit=actor.unit, actor_client=actor.client)
        if self.record_denial is not None:
            self.record_denial(actor, rpc, action, f"{code}: {refusal}"[:500],
                               target.dossier_id if target is not None and target.dossier_id else None,
                               target.dossier_code if target is not None else "")


@contextlib.contextmanager
def serving_as(principal: Principal | None, action: str = "") -> Iterator[None]:
    """Serve code written for the edge (handlers that read `caller()`) outside a gRPC server: tests
    and tools drive a servicer directly as an already verified principal."""
    token = enter(CallAccess(principal, action))
    try:
        yield
    finally:
        leave(token)


def enter(access: CallAccess) -> contextvars.Token:
    return _current.set(access)


def leave(token: contextvars.Token) -> None:
    _current.reset(token)
