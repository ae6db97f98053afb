"""Helpers for reporting's tests: the applications it follows wired in-process, with source
verification answered by the source application itself (what its worker's RPC does)."""
from __future__ import annotations

import uuid
from uuid import UUID

from motcua_common.events.context import Actor
from motcua_common.audit.log import audit_signer, audit_trust

OFFICIAL = Actor(kind="official", subject="canbo03", role="one_stop_officer", unit="000.31.01.H45", client="test")
AUDITOR = Actor(kind="official", subject="thanhtra01", role="inspector", unit="000.00.31.H45", client="audit-desk")


class InProcessPlatform:
    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        from motcua_evaluation.bootstrap import bootstrap as evaluation_bootstrap
        from motcua_evaluation.bootstrap import setup_schema as evaluation_schema
        from motcua_intake.bootstrap import bootstrap as intake_bootstrap
        from motcua_intake.bootstrap import setup_schema as intake_schema
        from motcua_notification.bootstrap import bootstrap as notification_bootstrap
        from motcua_notification.bootstrap import setup_schema as notification_schema
        from motcua_reporting.bootstrap import bootstrap as reporting_bootstrap
        from motcua_reporting.bootstrap import followers
        from motcua_reporting.bootstrap import setup_schema as reporting_schema
        from motcua_workflow.bootstrap import bootstrap as workflow_bootstrap
        from motcua_workflow.bootstrap import intake_follower
        from motcua_workflow.bootstrap import setup_schema as workflow_schema
        from motcua_payment.bootstrap import bootstrap as payment_bootstrap
        from motcua_payment.bootstrap import intake_follower as invoicing
        from motcua_payment.bootstrap import setup_schema as payment_schema
        from motcua_workflow.bootstrap import payment_follower

        for setup in (intake_schema, workflow_schema, reporting_schema, payment_schema, notification_schema,
                      evaluation_schema):
            setup(settings)
        self.settings = settings
        self.intake = intake_bootstrap(settings)
        self.workflow = workflow_bootstrap(settings)
        self.reporting = reporting_bootstrap(settings)
        self.notification = notification_bootstrap(settings)  # followed by reporting (no worker here: no messages)
        self.evaluation = evaluation_bootstrap(settings)  # followed by reporting (no ratings here)
        self.reporting.verify_source = self._verify_source
        self.payment = payment_bootstrap(settings)
        self.case_follower = intake_follower(self.workflow, settings)
        self.invoicing = invoicing(self.payment, settings)
        self.fee_follower = payment_follower(self.workflow, settings)
        self.history_followers = followers(self.reporting, settings)
        self.sources = {"intake": self.intake, "workflow": self.workflow, "reporting": self.reporting,
                        "payment": self.payment, "notification": self.notification, "evaluation": self.evaluation}

    def _verify_source(self, service: str, originator_ids: list[str], positions: list[int]) -> dict:
        return self.sources[service].verify_history(audit_trust(self.settings), [UUID(i) for i in originator_ids],
                                                    positions)

    def settle(self) -> None:
        """Let every consumer apply everything stored so far (what push and poll do in the workers)."""
        self.case_follower.catch_up(self.intake.read_notifications)
        self.invoicing.catch_up(self.intake.read_notifications)
        self.fee_follower.catch_up(self.payment.read_notifications)
        for upstream, follower in self.history_followers.items():
            read = self.sources[upstream].read_notifications
            follower.catch_up(lambda start, limit, read=read: read(start, limit, True))

    def sign_checkpoints(self) -> None:
        signer = audit_signer(self.settings)
        for app in self.sources.values():
            app.sign_checkpoint(signer)

    def submit(self, procedure_code: str = "1.004873") -> dict:
        from motcua_intake.application import ApplicantInput, SubmitDossier

        command = SubmitDossier(
            idempotency_key=uuid.uuid4().hex, procedure_code=procedure_code, channel="desk",
            applicant=ApplicantInput("Trần Thị Bích", "045190001234", "", "", "", ""),
            components=[{"name": "Tờ khai", "sha256": "b" * 64, "size_bytes": 10, "media_type": "application/pdf",
                         "code": "TO_KHAI", "digitised": True}])
        dossier = self.intake.submit_dossier(command, OFFICIAL)
        self.settle()
        return dossier

    def process(self, dossier: dict, pause: bool = False) -> None:
        case = self.workflow.get_case(dossier_id=dossier["id"])
        if pause:
            case = self.workflow.request_supplement(uuid.uuid4().hex, case.id, case.version, "Thiếu bản sao", OFFICIAL)
            case = self.workflow.resume(uuid.uuid4().hex, case.id, case.version, OFFICIAL)
        for step in range(len(case.steps)):
            case = self.workflow.complete_step(uuid.uuid4().hex, case.id, step, case.version, "xong", OFFICIAL)
        self.settle()

    def close(self) -> None:
        for app in self.sources.values():
            app.close()
