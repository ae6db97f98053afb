"""Who may do what, through the running platform: every RPC of every edge, called by every demo
identity of identities.yaml (and by nobody) on each situation a dossier can be in relative to the
caller: at the caller's unit, at another unit, at a unit below, the caller's own dossier or someone
else's, submitted by the caller's client or not. Tokens come from the running identity provider.

The expected answer is computed from the authorisation data (access-policy.yaml, units.yaml,
identities.yaml) with the policy's decision function, for the action each RPC declares at its edge:
a refusal is exactly PERMISSION_DENIED (UNAUTHENTICATED without a token); an allowed call gets
past the gate, i.e. answers anything else and never INTERNAL/UNKNOWN (commands are sent with a stale
`expected_version` or a reception time in the future, so an allowed command is refused by the
service after the gate and changes nothing). Lists answer exactly the dossiers the caller may see.
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.audit.v1 import audit_pb2 as apb
from motcua.audit.v1 import audit_pb2_grpc
from motcua.evaluation.v1 import evaluation_pb2 as vpb
from motcua.evaluation.v1 import evaluation_pb2_grpc
from motcua.events.v1 import events_pb2 as epb
from motcua.events.v1 import events_pb2_grpc
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.intake.v1 import intake_pb2_grpc
from motcua.notification.v1 import notification_pb2 as npb
from motcua.notification.v1 import notification_pb2_grpc
from motcua.payment.v1 import payment_pb2 as ppb
from motcua.payment.v1 import payment_pb2_grpc
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua.workflow.v1 import workflow_pb2_grpc
from motcua_common.identity.authorisation import Policy, Principal, Target, decide, reach
from motcua_common.identity.identities import Identities
from motcua_common.province.organisation import Organisation
from motcua_evaluation.entrypoints.grpc_server import guards as evaluation_guards
from motcua_intake.entrypoints.grpc_server import guards as intake_guards
from motcua_notification.entrypoints.grpc_server import guards as notification_guards
from motcua_payment.entrypoints.grpc_server import guards as payment_guards
from motcua_reporting.entrypoints.grpc_server import guards as audit_guards
from motcua_testkit.identities import channel_as
from motcua_testkit.plugin import DEMO_DATA, wait_until
from motcua_workflow.entrypoints.grpc_server import guards as workflow_guards

pytestmark = pytest.mark.e2e

POLICY = Policy.load(DEMO_DATA / "access-policy.yaml")
ORGANISATION = Organisation.load(DEMO_DATA / "units.yaml")
IDENTITIES = Identities.load(DEMO_DATA / "identities.yaml", ORGANISATION, POLICY.roles())
#: the action each RPC declares at its edge (the services' own tables: one source)
ACTIONS = {**{f"intake/{k}": g.action for k, g in intake_guards(None).items()},  # type: ignore[arg-type]
           **{f"workflow/{k}": g.action for k, g in workflow_guards(None).items()},  # type: ignore[arg-type]
           **{f"reporting/{k}": g.action for k, g in audit_guards(None).items()},  # type: ignore[arg-type]
           **{f"payment/{k}": g.action for k, g in payment_guards(None).items()},
           **{f"notification/{k}": g.action for k, g in notification_guards(None).items()},
           **{f"evaluation/{k}": g.action for k, g in evaluation_guards(None).items()},
           "intake/Subscribe": "events.subscribe", "workflow/Subscribe": "events.subscribe"}
LISTS = {"intake/SearchDossiers", "workflow/ListCases"}
UNIT_READS = {"payment/GetCashClose", "payment/GetRevenue"}
PORTAL = "cong-dvc-quoc-gia"
#: every criterion of the survey in force, answered (decision-766.yaml's rating_survey)
SURVEY = ("total_time", "agencies_contacted", "contacts_to_complete", "publicity", "staff_attitude",
          "result_conformity", "feedback_handling", "online_handling", "fees_publicity")


def principals() -> dict[str, Principal | None]:
    found: dict[str, Principal | None] = {"nobody": None}
    for o in IDENTITIES.officials:
        found[o.username] = Principal(kind="official", subject=o.username, roles=frozenset(o.roles), unit=o.unit)
    for c in IDENTITIES.citizens:
        found[c.username] = Principal(kind="citizen", subject=c.username, citizen_id=c.citizen_id,
                                      applicant=f"cid:{c.citizen_id}")
    for i in IDENTITIES.integrators:
        found[f"client:{i.client_id}"] = Principal(kind="integrator", subject=i.client_id, client=i.client_id,
                                                   scopes=frozenset(i.scopes))
    return found


PRINCIPALS = principals()
CITIZEN_1, CITIZEN_2 = (c.citizen_id for c in IDENTITIES.citizens[:2])


def ts(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


class Situation:
    """A dossier as the matrix sees it: where it is, whose it is, who submitted it."""

    def __init__(self, name: str, dossier: ipb.Dossier, case: wpb.Case, applicant_id: str, client: str,
                 invoiced: bool = False) -> None:
        self.name, self.dossier, self.case, self.invoiced = name, dossier, case, invoiced
        self.intake_target = Target(unit=dossier.receiving_agency_code, applicant=f"cid:{applicant_id}",
                                    client=client)
        self.case_target = Target(unit=case.unit_code)
        # evaluation decides on the dossier's handling unit and applicant (its facts)
        self.rating_target = Target(unit=case.unit_code, applicant=f"cid:{applicant_id}")


@pytest.fixture(scope="module")
def situations(platform, identity_provider, as_user) -> dict[str, Situation]:  # type: ignore[no-untyped-def]
    inspector = as_user("thanhtra01", "workflow")
    payments = as_user("thanhtra01", "payment")
    notifications = as_user("thanhtra01", "notification")

    def submitted(who: str, procedure: str, applicant_id: str, *metadata: tuple[str, str]) -> ipb.Dossier:
        stub = as_user(who, "intake")
        request = ipb.SubmitDossierRequest(
            idempotency_key=uuid.uuid4().hex, procedure_code=procedure, channel=ipb.CHANNEL_ONLINE,
            applicant=ipb.Applicant(full_name="Người nộp", citizen_id=applicant_id),
            components=[ipb.Component(name="Tờ khai", sha256="cd" * 32, size_bytes=10, media_type="application/pdf",
                                      code="TO_KHAI")])
        return stub.SubmitDossier(request, metadata=metadata).dossier

    def opened(dossier: ipb.Dossier) -> wpb.Case:
        def case() -> wpb.Case | None:
            try:
                return inspector.GetCase(wpb.GetCaseRequest(dossier_id=dossier.id)).case
            except grpc.RpcError:
                return None
        return wait_until(case, 15, f"the case of {dossier.code}")  # type: ignore[return-value]

    def invoiced(dossier: ipb.Dossier) -> bool:
        def invoice() -> bool:
            try:
                return bool(payments.GetInvoice(ppb.GetInvoiceRequest(dossier_id=dossier.id)).invoice.invoice_id)
            except grpc.RpcError:
                return False
        return bool(wait_until(invoice, 15, f"the invoice of {dossier.code}"))

    def notified(dossier: ipb.Dossier) -> None:
        def known() -> bool:
            try:
                notifications.ListMessages(npb.ListMessagesRequest(dossier_id=dossier.id))
                return True
            except grpc.RpcError:
                return False
        wait_until(known, 15, f"notification to learn of {dossier.code}")

    made = {
        # at 000.31.01.H45, submitted by the citizen it is about
        "own_citizens_here": ("congdan01", "1.004873", CITIZEN_1, ""),
        # at 000.31.02.H45 (another ward's unit, with no unit above it), about someone else
        "elsewhere": ("canbo07", "1.004222", "045301234567", ""),
        # at 000.31.01.H45, submitted by the national portal on behalf of the second citizen
        "portal_for_citizen_2": (f"client:{PORTAL}", "1.004873", CITIZEN_2, PORTAL),
        # at 000.31.01.H45, the citizen's own, with a fee (2.000884): it has an invoice
        "own_citizens_invoiced": ("congdan01", "2.000884", CITIZEN_1, ""),
    }
    found = {}
    for name, (who, procedure, applicant_id, client) in made.items():
        metadata = (("x-motcua-on-behalf-of", applicant_id),) if client else ()
        dossier = submitted(who, procedure, applicant_id, *metadata)
        found[name] = Situation(name, dossier, opened(dossier), applicant_id, client,
                                invoiced=procedure == "2.000884" and invoiced(dossier))
        notified(dossier)
    rated_by_owner = as_user("congdan01", "evaluation")

    def evaluation_knows(dossier: ipb.Dossier) -> bool:
        """The owner's rating is refused as too early (not PERMISSION_DENIED) once evaluation has
        learnt the dossier; nothing is recorded."""
        try:
            rated_by_owner.RateDossier(request_for("evaluation/RateDossier", Situation(
                "probe", dossier, found["own_citizens_here"].case, CITIZEN_1, "")))
        except grpc.RpcError as error:
            return error.code() == grpc.StatusCode.FAILED_PRECONDITION
        raise AssertionError(f"{dossier.code} was rated before its result was returned")

    # evaluation follows intake's log in order: the last dossier learnt means every earlier one too
    wait_until(lambda: evaluation_knows(found["own_citizens_invoiced"].dossier), 20,
               "evaluation to learn of the dossiers")
    return found


def request_for(rpc: str, s: Situation | None) -> Any:
    """A well-formed request about situation `s`; commands that pass the gate fail after it."""
    key, stale = uuid.uuid4().hex, 999_999
    code = s.dossier.code if s else ""
    case_id = s.case.id if s else ""
    future = ts(datetime.now(timezone.utc) + timedelta(days=1))
    component = ipb.Component(name="Tờ khai", sha256="ef" * 32, size_bytes=10, media_type="application/pdf",
                              code="TO_KHAI")
    builders: dict[str, Callable[[], Any]] = {
        "intake/ListProcedures": lambda: ipb.ListProceduresRequest(),
        "intake/ListUnits": lambda: ipb.ListUnitsRequest(),
        "intake/SearchDossiers": lambda: ipb.SearchDossiersRequest(dossier_code=code),
        "intake/SubmitDossier": lambda: ipb.SubmitDossierRequest(
            idempotency_key=key, procedure_code=s.dossier.procedure_code, channel=ipb.CHANNEL_DESK,  # type: ignore[union-attr]
            received_at=future, applicant=ipb.Applicant(
                full_name="Người nộp", citizen_id=s.intake_target.applicant.removeprefix("cid:")),  # type: ignore[union-attr]
            components=[component]),
        "intake/GetDossier": lambda: ipb.GetDossierRequest(dossier_code=code),
        "intake/GetReceiptForm": lambda: ipb.GetReceiptFormRequest(dossier_code=code),
        "intake/GetIntakeForm": lambda: ipb.GetIntakeFormRequest(dossier_code=code,
                                                                 form=ipb.INTAKE_FORM_SUPPLEMENT_REQUEST),
        "intake/WithdrawDossier": lambda: ipb.WithdrawDossierRequest(idempotency_key=key, dossier_code=code,
                                                                     expected_version=stale, reason="Không cần"),
        "intake/RequestIntakeSupplement": lambda: ipb.RequestIntakeSupplementRequest(
            idempotency_key=key, dossier_code=code, expected_version=stale, reason="Bổ sung"),
        "intake/SupplementDossier": lambda: ipb.SupplementDossierRequest(
            idempotency_key=key, dossier_code=code, expected_version=stale, components=[component]),
        "intake/RefuseDossier": lambda: ipb.RefuseDossierRequest(idempotency_key=key, dossier_code=code,
                                                                 expected_version=stale, reason="Không đủ"),
        "workflow/GetCase": lambda: wpb.GetCaseRequest(dossier_code=code),
        "workflow/ListCases": lambda: wpb.ListCasesRequest(unit_code=s.case.unit_code, page_size=500),  # type: ignore[union-attr]
        "workflow/GetResult": lambda: wpb.GetResultRequest(dossier_code=code),
        "workflow/VerifyResult": lambda: wpb.VerifyResultRequest(dossier_code=code, content=b"%PDF"),
        "workflow/CompleteStep": lambda: wpb.CompleteStepRequest(idempotency_key=key, case_id=case_id,
                                                                 expected_version=stale, step_index=0),
        "workflow/RequestSupplement": lambda: wpb.RequestSupplementRequest(idempotency_key=key, case_id=case_id,
                                                                           expected_version=stale, reason="Bổ sung"),
        "workflow/ResumeCase": lambda: wpb.ResumeCaseRequest(idempotency_key=key, case_id=case_id,
                                                             expected_version=stale),
        "workflow/StopProcessing": lambda: wpb.StopProcessingRequest(idempotency_key=key, case_id=case_id,
                                                                     expected_version=stale, reason="Dừng"),
        "workflow/ExtendDeadline": lambda: wpb.ExtendDeadlineRequest(idempotency_key=key, case_id=case_id,
                                                                     expected_version=stale, new_due_at=future,
                                                                     reason="Gia hạn"),
        "workflow/AssignStep": lambda: wpb.AssignStepRequest(idempotency_key=key, case_id=case_id,
                                                             expected_version=stale, official="chuyenvien01"),
        "workflow/TransferCase": lambda: wpb.TransferCaseRequest(idempotency_key=key, case_id=case_id,
                                                                 expected_version=stale, to_unit_code="000.00.10.H45",
                                                                 allotted_working_hours=8, reason="Xác minh"),
        "workflow/ReturnFromTransfer": lambda: wpb.ReturnFromTransferRequest(idempotency_key=key, case_id=case_id,
                                                                             expected_version=stale),
        "workflow/SignResult": lambda: wpb.SignResultRequest(idempotency_key=key, case_id=case_id,
                                                             expected_version=stale, document=wpb.ResultDocument(
                                                                 filename="kq.pdf", media_type="application/pdf",
                                                                 content=b"%PDF", sha256="00" * 32)),
        "workflow/ReturnResult": lambda: wpb.ReturnResultRequest(idempotency_key=key, case_id=case_id,
                                                                 expected_version=stale,
                                                                 method=wpb.RETURN_METHOD_DESK),
        "reporting/StreamHistory": lambda: apb.StreamHistoryRequest(dossier_code=code),
        "reporting/GetStateAt": lambda: apb.GetStateAtRequest(dossier_code=code, as_of=future),
        "reporting/VerifyHistory": lambda: apb.VerifyHistoryRequest(dossier_code=code),
        "reporting/ExportHistory": lambda: apb.ExportHistoryRequest(dossier_code=code),
        "reporting/ListSecurityEvents": lambda: apb.ListSecurityEventsRequest(page_size=5),
        "payment/GetInvoice": lambda: ppb.GetInvoiceRequest(dossier_code=code),
        "payment/RecordCashPayment": lambda: ppb.RecordCashPaymentRequest(
            idempotency_key=key, dossier_id=s.dossier.id, expected_version=stale, amount_vnd=1,  # type: ignore[union-attr]
            receipt_number="BL-1"),
        "payment/StartGatewayPayment": lambda: ppb.StartGatewayPaymentRequest(dossier_id=s.dossier.id),  # type: ignore[union-attr]
        "payment/GetReceipt": lambda: ppb.GetReceiptRequest(dossier_code=code),
        "payment/RefundPayment": lambda: ppb.RefundPaymentRequest(  # above anything refundable: refused after the gate
            idempotency_key=key, dossier_id=s.dossier.id, amount_vnd=999_999_999, reason="Hoàn"),  # type: ignore[union-attr]
        "payment/GetCashClose": lambda: ppb.GetCashCloseRequest(unit_code=s.intake_target.unit,  # type: ignore[union-attr]
                                                                day=datetime.now(timezone.utc).date().isoformat()),
        "payment/GetRevenue": lambda: ppb.GetRevenueRequest(unit_code=s.intake_target.unit,  # type: ignore[union-attr]
                                                            from_date="2026-01-01", to_date="2026-12-31"),
        # a day that has not ended: refused after the gate, nothing reconciled
        "payment/RunReconciliation": lambda: ppb.RunReconciliationRequest(idempotency_key=key, day="2999-01-01"),
        "payment/ListDiscrepancies": lambda: ppb.ListDiscrepanciesRequest(from_day="2026-01-01", to_day="2026-01-01"),
        "payment/ResolveDiscrepancy": lambda: ppb.ResolveDiscrepancyRequest(
            idempotency_key=key, day="2026-01-01", discrepancy_id="surplus:KHONG-CO", decision="accepted",
            note="Không có"),
        "notification/PreviewTemplate": lambda: npb.PreviewTemplateRequest(
            template_id="result_returned", channel="sms", variables={"dossier_code": "X", "procedure_name": "Y"}),
        "notification/GetPreferences": lambda: npb.GetPreferencesRequest(dossier_code=code),
        # an unknown channel: refused after the gate, so an allowed call changes nothing
        "notification/SetPreferences": lambda: npb.SetPreferencesRequest(idempotency_key=key, dossier_code=code,
                                                                          opt_out=["fax"]),
        "notification/ListMessages": lambda: npb.ListMessagesRequest(dossier_code=code),
        "notification/StreamMessages": lambda: npb.StreamMessagesRequest(dossier_code=code),
        "intake/Subscribe": lambda: epb.SubscribeRequest(),
        "workflow/Subscribe": lambda: epb.SubscribeRequest(),
        # no result returned yet: an allowed rating is refused after the gate (RESULT_NOT_RETURNED)
        "evaluation/RateDossier": lambda: vpb.RateDossierRequest(
            idempotency_key=key, dossier_id=s.dossier.id, via="online",  # type: ignore[union-attr]
            answers=[vpb.RatingAnswer(criterion=c, level=2) for c in SURVEY]),
        "evaluation/GetRating": lambda: vpb.GetRatingRequest(dossier_id=s.dossier.id),  # type: ignore[union-attr]
        "evaluation/GetScorecard": lambda: vpb.GetScorecardRequest(
            period_start=ts(datetime(2026, 10, 31, 17, tzinfo=timezone.utc)),
            period_end=ts(datetime(2026, 11, 30, 17, tzinfo=timezone.utc))),
    }
    return builders[rpc]()


def expected(who: str, rpc: str, s: Situation | None) -> str:
    """'denied', 'unauthenticated' or 'allowed', from the authorisation data alone."""
    principal = PRINCIPALS[who]
    action = ACTIONS[rpc]
    rule = POLICY.actions[action]
    if rule.public:
        return "allowed"
    if principal is None:
        return "unauthenticated"
    if rpc in LISTS:
        return "denied" if reach(POLICY, ORGANISATION, principal, action).nothing else "allowed"
    if rule.about == "platform":
        return "allowed" if decide(POLICY, ORGANISATION, principal, action) else "denied"
    if rpc in UNIT_READS:  # about the unit's desk named in the request, invoiced or not
        return "allowed" if decide(POLICY, ORGANISATION, principal, action,
                                   Target(unit=s.intake_target.unit)) else "denied"  # type: ignore[union-attr]
    if rpc.startswith("payment/") and not s.invoiced:  # type: ignore[union-attr]
        # no invoice to locate: NOT_FOUND to those who may see a unit's invoices, refused to the others
        grants = reach(POLICY, ORGANISATION, principal, action)
        return "allowed" if grants.everything or grants.units else "denied"
    target = s.intake_target if rpc.startswith(("intake/", "payment/", "notification/")) else s.case_target  # type: ignore[union-attr]
    if rpc.startswith("evaluation/"):
        target = s.rating_target  # type: ignore[union-attr]
    if rpc == "intake/SubmitDossier":  # about the dossier it would create, not the existing one
        target = Target(unit=target.unit, applicant=target.applicant)
    return "allowed" if decide(POLICY, ORGANISATION, principal, action, target) else "denied"


STUBS = {"intake": intake_pb2_grpc.IntakeServiceStub, "workflow": workflow_pb2_grpc.WorkflowServiceStub,
         "reporting": audit_pb2_grpc.AuditServiceStub, "payment": payment_pb2_grpc.PaymentServiceStub,
         "notification": notification_pb2_grpc.NotificationServiceStub,
         "evaluation": evaluation_pb2_grpc.EvaluationServiceStub}


def call(platform: dict, identity_provider: Any, channels: dict, who: str, rpc: str, request: Any) -> grpc.StatusCode:
    service, method = rpc.split("/")
    key = (who, service)
    if key not in channels:
        address = platform[service]
        channels[key] = (grpc.insecure_channel(address) if who == "nobody"
                         else channel_as(identity_provider, address, who))
    channel = channels[key]
    stub = (events_pb2_grpc.EventStreamServiceStub(channel) if method == "Subscribe"
            else STUBS[service](channel))
    try:
        answer = getattr(stub, method)(request, timeout=15)
        if method in ("StreamHistory", "Subscribe", "StreamMessages"):
            for _ in answer:
                break
        return grpc.StatusCode.OK
    except grpc.RpcError as error:
        return error.code()


def test_every_rpc_for_every_identity_and_situation_answers_what_the_policy_says(platform, identity_provider,
                                                                                 situations):
    assert set(ACTIONS) >= {f"intake/{m}" for m in ipb.DESCRIPTOR.services_by_name["IntakeService"].methods_by_name}
    assert set(ACTIONS) >= {f"workflow/{m}"
                            for m in wpb.DESCRIPTOR.services_by_name["WorkflowService"].methods_by_name}
    assert set(ACTIONS) >= {f"reporting/{m}" for m in apb.DESCRIPTOR.services_by_name["AuditService"].methods_by_name}
    assert set(ACTIONS) >= {f"payment/{m}"
                            for m in ppb.DESCRIPTOR.services_by_name["PaymentService"].methods_by_name}
    assert set(ACTIONS) >= {f"notification/{m}"
                            for m in npb.DESCRIPTOR.services_by_name["NotificationService"].methods_by_name}
    assert set(ACTIONS) >= {f"evaluation/{m}"
                            for m in vpb.DESCRIPTOR.services_by_name["EvaluationService"].methods_by_name}
    channels: dict = {}
    wrong, counted = [], {"allowed": 0, "denied": 0, "unauthenticated": 0}
    try:
        for rpc, action in sorted(ACTIONS.items()):
            about_dossier = POLICY.actions[action].about == "dossier" or rpc in LISTS
            for s in (situations.values() if about_dossier else [None]):
                for who in PRINCIPALS:
                    want = expected(who, rpc, s)
                    code = call(platform, identity_provider, channels, who, rpc, request_for(rpc, s))
                    got = {grpc.StatusCode.PERMISSION_DENIED: "denied",
                           grpc.StatusCode.UNAUTHENTICATED: "unauthenticated"}.get(code, "allowed")
                    counted[want] += 1
                    if got != want or code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                        wrong.append(f"{who} {rpc} on {s.name if s else '-'}: expected {want}, got {code.name}")
    finally:
        for channel in channels.values():
            channel.close()
    assert not wrong, "\n".join(wrong)
    # the matrix really exercises both answers for most RPCs, not only refusals
    assert counted["allowed"] > 100 and counted["denied"] > 200 and counted["unauthenticated"] > 30, counted


def test_lists_show_exactly_the_dossiers_the_caller_may_see(platform, identity_provider, situations):
    channels: dict = {}
    wrong = []
    try:
        for who, principal in PRINCIPALS.items():
            if principal is None:
                continue
            intake = STUBS["intake"](channels.setdefault((who, "intake"),
                                                         channel_as(identity_provider, platform["intake"], who)))
            workflow = STUBS["workflow"](channels.setdefault((who, "workflow"),
                                                             channel_as(identity_provider, platform["workflow"], who)))
            for s in situations.values():
                for rpc, listed in (
                    ("dossier.list", lambda: [d.dossier_code for d in intake.SearchDossiers(
                        ipb.SearchDossiersRequest(dossier_code=s.dossier.code)).dossiers]),
                    ("case.queue", lambda: [c.dossier_code for c in workflow.ListCases(
                        wpb.ListCasesRequest(unit_code=s.case.unit_code, page_size=500)).cases]),
                ):
                    allowed = reach(POLICY, ORGANISATION, principal, rpc)
                    if allowed.nothing:
                        continue  # refused outright: the matrix above checks that
                    target = s.intake_target if rpc == "dossier.list" else s.case_target
                    visible = (allowed.everything or target.unit in allowed.units
                               or (bool(allowed.applicant) and allowed.applicant == target.applicant)
                               or (bool(allowed.client) and allowed.client == target.client))
                    shown = s.dossier.code in listed()
                    if shown != visible:
                        wrong.append(f"{who} {rpc} {s.name}: expected {'shown' if visible else 'hidden'}")
    finally:
        for channel in channels.values():
            channel.close()
    assert not wrong, "\n".join(wrong)
