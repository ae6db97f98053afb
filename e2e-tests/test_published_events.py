"""Black-box: the published contract. An integrator follows a service's published events through
gRPC and resumes after a disconnect with no gap and no duplicate; intake, following workflow's
published events, says what workflow says about a dossier's status and appointment."""
from __future__ import annotations

import uuid
from datetime import timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from motcua.events.v1 import events_pb2 as epb
from motcua.events.v1 import events_pb2_grpc as epb_grpc
from motcua.intake.events.v1 import events_pb2 as intake_events
from motcua.intake.v1 import intake_pb2 as ipb
from motcua.workflow.events.v1 import events_pb2 as workflow_events
from motcua.workflow.v1 import workflow_pb2 as wpb
from motcua_testkit.identities import channel_as
from motcua_testkit.plugin import wait_until

from e2e_testkit import submit_request, wait_for_case

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def subscribe(identity_provider):  # type: ignore[no-untyped-def]
    """An integrator granted `events.subscribe` (the province's reporting system) follows a stream."""
    def follow_stream(address: str, after: int, follow: bool = False, types: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
        channel = channel_as(identity_provider, address, "client:he-thong-bao-cao")
        stream = epb_grpc.EventStreamServiceStub(channel).Subscribe(
            epb.SubscribeRequest(after_position=after, follow=follow, types=list(types)))
        return channel, stream

    return follow_stream


def test_an_integrator_resumes_after_a_disconnect_without_gaps_or_duplicates(platform, intake, subscribe):
    for _ in range(4):
        intake.SubmitDossier(submit_request())
    _, whole = subscribe(platform["intake"], 0)
    everything = [r.event for r in whole]
    assert len(everything) >= 8
    received = [e for e in everything if e.type == "motcua.intake.events.v1.DossierReceived"]
    assert len(received) >= 4
    dossier = intake_events.DossierReceived()
    assert received[0].data.Unpack(dossier) and dossier.code == received[0].dossier_code
    assert dossier.applicant.subject_id and not hasattr(dossier.applicant, "full_name")  # no personal data
    assert [e.previous_position for e in everything[1:]] == [e.position for e in everything[:-1]]

    channel, following = subscribe(platform["intake"], 0, follow=True)
    first = [next(following).event for _ in range(3)]
    channel.close()  # the integrator's connection drops mid-stream
    with pytest.raises(grpc.RpcError):
        next(following)
    for _ in range(2):  # stored meanwhile
        intake.SubmitDossier(submit_request())

    channel, resumed = subscribe(platform["intake"], first[-1].position, follow=True)
    head = [r.event.position for r in subscribe(platform["intake"], 0)[1]]
    rest = []
    while not rest or rest[-1].position < head[-1]:
        rest.append(next(resumed).event)
    channel.close()

    assert [e.position for e in first + rest] == head
    assert rest[0].previous_position == first[-1].position


def test_a_subscription_can_ask_for_some_types_and_refuses_a_malformed_one(platform, intake, subscribe):
    intake.SubmitDossier(submit_request())
    _, stream = subscribe(platform["intake"], 0, types=("motcua.intake.events.v1.DossierReceived",))
    assert {r.event.type for r in stream} == {"motcua.intake.events.v1.DossierReceived"}
    _, bad = subscribe(platform["intake"], 0, types=("not a type",))
    with pytest.raises(grpc.RpcError) as error:
        next(bad)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def _standing(intake, workflow, dossier_id: str):  # type: ignore[no-untyped-def]
    dossier = intake.GetDossier(ipb.GetDossierRequest(dossier_id=dossier_id)).dossier
    case = workflow.GetCase(wpb.GetCaseRequest(dossier_id=dossier_id)).case
    return (dossier.national_status, dossier.appointment_at.ToDatetime()), (case.national_status, case.due_at.ToDatetime())


def _agree(intake, workflow, dossier_id: str, status: int):  # type: ignore[no-untyped-def]
    def same():  # type: ignore[no-untyped-def]
        in_intake, in_workflow = _standing(intake, workflow, dossier_id)
        return in_intake == in_workflow and in_workflow[0] == status and in_intake
    return wait_until(same, 15, f"intake to say what workflow says (national status {status})")


def _act(workflow, case: wpb.Case, rpc: str, **fields) -> wpb.Case:  # type: ignore[no-untyped-def]
    request = getattr(wpb, f"{rpc}Request")(idempotency_key=uuid.uuid4().hex, case_id=case.id,
                                              expected_version=case.version, **fields)
    return getattr(workflow, rpc)(request, ).case


def test_get_dossier_agrees_with_get_case_after_an_extension_and_the_return(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    case = wait_for_case(workflow, dossier.id)
    new_due = Timestamp()
    # within the bound an extension may reach (the due time plus the deadline once more, at least 8 h)
    new_due.FromDatetime(case.due_at.ToDatetime() + timedelta(hours=4))
    case = _act(workflow, case, "ExtendDeadline", new_due_at=new_due, reason="Cần lấy ý kiến cơ quan liên quan")
    status, appointment = _agree(intake, workflow, dossier.id, 4)
    assert appointment == new_due.ToDatetime() != dossier.appointment_at.ToDatetime()

    for index in range(len(case.steps)):
        case = _act(workflow, case, "CompleteStep", step_index=index)
    content = b"ket qua"
    import hashlib
    case = _act(workflow, case, "SignResult", document=wpb.ResultDocument(
        filename="ket-qua.pdf", media_type="application/pdf", content=content,
        sha256=hashlib.sha256(content).hexdigest()))
    _agree(intake, workflow, dossier.id, 9)
    _act(workflow, case, "ReturnResult", method=wpb.RETURN_METHOD_DESK)
    _agree(intake, workflow, dossier.id, 10)


def test_get_dossier_agrees_with_get_case_after_a_withdrawal(intake, workflow):
    dossier = intake.SubmitDossier(submit_request()).dossier
    wait_for_case(workflow, dossier.id)
    withdrawn = intake.WithdrawDossier(ipb.WithdrawDossierRequest(
        idempotency_key=uuid.uuid4().hex, dossier_id=dossier.id, expected_version=dossier.version,
        reason="Không còn nhu cầu"))
    assert withdrawn.dossier.national_status in (7, 8)  # requested; 8 once workflow stopped the case
    _agree(intake, workflow, dossier.id, 8)


def test_workflow_publishes_its_events_too(platform, intake, workflow, subscribe):
    dossier = intake.SubmitDossier(submit_request()).dossier
    wait_for_case(workflow, dossier.id)

    def opened():  # type: ignore[no-untyped-def]
        events = [r.event for r in subscribe(platform["workflow"], 0,
                                             types=("motcua.workflow.events.v1.CaseOpened",))[1]]
        return [e for e in events if e.subject == dossier.id]

    event = wait_until(opened, 10, "workflow's CaseOpened")[0]
    message = workflow_events.CaseOpened()
    assert event.data.Unpack(message) and message.dossier_code == dossier.code and message.national_status == 4
    assert event.causation == f"intake:{dossier.id}:1"
