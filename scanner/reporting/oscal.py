"""OSCAL assessment results and plan of action and milestones (POA&M), built with compliance-trestle.

Each finding is an OSCAL observation; each NIST SP 800-53 Rev 5 control that keysweep's findings
bear on (SC-8, SC-12, SC-13, SC-17, SC-28, IA-5(2), IA-7) is an OSCAL finding, satisfied or not
satisfied, pointing at its observations. Open findings at or above medium are risks; the POA&M
has one item per rule and system with the risk's deadline where a policy sets one.

The documents are built as trestle's pydantic models, which are generated from NIST's OSCAL JSON
schema: a document that does not fit the schema cannot be built, and the tests read it back.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from scanner import PROJECT_URL, __version__
from scanner.compat import UTC
from scanner.inventory.model import Finding, ScanResult, Severity
from scanner.inventory.summary import is_projection
from scanner.plurals import noun, plural
from scanner.reporting.base import ReporterError

# finding category -> the SP 800-53 Rev 5 controls it is evidence for (OSCAL control ids)
CONTROLS_BY_CATEGORY: Mapping[str, tuple[str, ...]] = {
    "protocol": ("sc-8", "sc-13"),
    "configuration": ("sc-8", "sc-13"),
    "key-size": ("sc-12", "sc-13"),
    "algorithm": ("sc-13",),
    "pqc": ("sc-12", "sc-13"),
    "fips": ("sc-13", "ia-7"),
    "rotation": ("sc-12",),
    "key-storage": ("sc-12", "sc-28"),
    "key-usage": ("sc-12",),
    "certificate-validity": ("sc-17", "ia-5.2"),
    "trust": ("sc-17", "ia-5.2"),
    "revocation": ("sc-17", "ia-5.2"),
    "secret-exposure": ("sc-28", "ia-5.2"),
}
CONTROL_TITLES: Mapping[str, str] = {
    "sc-8": "SC-8 Transmission Confidentiality and Integrity",
    "sc-12": "SC-12 Cryptographic Key Establishment and Management",
    "sc-13": "SC-13 Cryptographic Protection",
    "sc-17": "SC-17 Public Key Infrastructure Certificates",
    "sc-28": "SC-28 Protection of Information at Rest",
    "ia-5.2": "IA-5(2) Public Key-based Authentication",
    "ia-7": "IA-7 Cryptographic Module Authentication",
}
RISK_THRESHOLD = Severity.MEDIUM
_NS = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")  # keysweep's namespace for stable OSCAL uuids
_PROP_NS = f"{PROJECT_URL}/ns/oscal"


def _uuid(*parts: str) -> str:
    # stable across renders of one scan: the same finding keeps its OSCAL uuid
    return str(uuid.uuid5(_NS, "\x00".join(parts)))


def _trestle() -> Any:
    try:
        from trestle.oscal import assessment_results, common, poam
    except ImportError:
        raise ReporterError(
            "OSCAL export needs compliance-trestle (Python 3.11 or later): pip install 'keysweep[oscal]'"
        ) from None
    return assessment_results, common, poam


def controls_of(finding: Finding) -> tuple[str, ...]:
    return CONTROLS_BY_CATEGORY.get(finding.category, ("sc-13",))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _metadata(common: Any, result: ScanResult, title: str) -> Any:
    from trestle.oscal import OSCAL_VERSION

    props = [common.Property(name="scan-id", value=result.metadata.id, ns=_PROP_NS)]
    if is_projection(result.metadata):
        props.append(
            common.Property(name="projection-as-of", value=result.metadata.as_of.date().isoformat(), ns=_PROP_NS)
        )
    return common.Metadata(
        title=title,
        last_modified=_aware(result.metadata.finished_at),
        version=f"keysweep {__version__}",
        oscal_version=OSCAL_VERSION,
        props=props,
    )


def _systems_of(result: ScanResult, asset_id: str) -> tuple[str, ...]:
    if result.membership is None:
        return ()
    return result.membership.systems.get(asset_id, ()) or ("unassigned",)


def _observations(common: Any, result: ScanResult, findings: Sequence[Finding]) -> list[Any]:
    out = []
    for f in findings:
        props = [
            common.Property(name="rule-id", value=f.rule_id, ns=_PROP_NS),
            common.Property(name="asset-id", value=f.asset_id, ns=_PROP_NS),
            common.Property(name="severity", value=f.severity.value, ns=_PROP_NS),
            common.Property(name="waived", value="true" if f.waived else "false", ns=_PROP_NS),
        ]
        props += [common.Property(name="system", value=s, ns=_PROP_NS) for s in _systems_of(result, f.asset_id)]
        out.append(
            common.Observation(
                uuid=_uuid(result.metadata.id, "observation", f.id),
                title=f.title,
                description=f.message,
                props=props,
                methods=["TEST"],
                types=["finding"],
                collected=_aware(result.metadata.finished_at),
                remarks=f"References: {'; '.join(f.references)}" if f.references else None,
            )
        )
    return out


def _risks(common: Any, result: ScanResult, findings: Sequence[Finding]) -> list[Any]:
    risks = []
    for f in findings:
        if f.waived is not None or f.severity.rank < RISK_THRESHOLD.rank:
            continue
        deadline = datetime.fromisoformat(f.deadline).replace(tzinfo=UTC) if f.deadline else None
        risks.append(
            common.Risk(
                uuid=_uuid(result.metadata.id, "risk", f.id),
                title=f.title,
                description=f.message,
                statement=f.remediation or f.title,
                status=common.RiskStatus(root="open"),
                props=[common.Property(name="severity", value=f.severity.value, ns=_PROP_NS)],
                deadline=deadline,
                related_observations=[
                    common.RelatedObservation(observation_uuid=_uuid(result.metadata.id, "observation", f.id))
                ],
            )
        )
    return risks


def assessment_results(result: ScanResult) -> Any:
    ar, common, _ = _trestle()
    scan = result.metadata.id
    findings = list(result.findings)
    by_control: dict[str, list[Finding]] = {c: [] for c in CONTROL_TITLES}
    for f in findings:
        for control in controls_of(f):
            by_control[control].append(f)
    oscal_findings = []
    for control, related in by_control.items():
        open_related = [f for f in related if f.waived is None and f.severity.rank >= RISK_THRESHOLD.rank]
        state = "not-satisfied" if open_related else "satisfied"
        oscal_findings.append(
            common.Finding(
                uuid=_uuid(scan, "finding", control),
                title=CONTROL_TITLES[control],
                description=(
                    f"{plural(len(open_related), 'open finding')} at {RISK_THRESHOLD.value} or above "
                    f"{noun(len(open_related), 'bears', 'bear')} on this control"
                    if open_related
                    else f"No open finding at {RISK_THRESHOLD.value} or above bears on this control "
                    f"({len(related)} lower, waived or informational)."
                ),
                target=common.FindingTarget(
                    type="objective-id",
                    target_id=f"{control}_obj",
                    status=common.ObjectiveStatus(state=state),
                ),
                related_observations=[
                    common.RelatedObservation(observation_uuid=_uuid(scan, "observation", f.id)) for f in related
                ]
                or None,
                related_risks=[common.AssociatedRisk(risk_uuid=_uuid(scan, "risk", f.id)) for f in open_related]
                or None,
            )
        )
    observations = _observations(common, result, findings)
    risks = _risks(common, result, findings)
    projection = is_projection(result.metadata)
    title = f"keysweep scan {scan}" + (f" (projection as of {result.metadata.as_of.date()})" if projection else "")
    oscal_result = ar.Result(
        uuid=_uuid(scan, "result"),
        title=title,
        description=(
            f"Cryptographic inventory and policy evaluation of {plural(len(result.assets), 'asset')} "
            f"({', '.join(result.metadata.policies)}); {plural(len(result.errors), 'collection error')}."
        ),
        start=_aware(result.metadata.started_at),
        end=_aware(result.metadata.finished_at),
        reviewed_controls=common.ReviewedControls(
            control_selections=[
                common.ControlSelections(
                    include_controls=[common.SelectControlById(control_id=c) for c in CONTROL_TITLES]
                )
            ]
        ),
        observations=observations or None,
        risks=risks or None,
        findings=oscal_findings,
    )
    return ar.AssessmentResults(
        uuid=_uuid(scan, "assessment-results"),
        metadata=_metadata(common, result, f"keysweep assessment results: {title}"),
        import_ap=ar.ImportAp(href=f"urn:uuid:{_uuid(scan, 'assessment-plan')}"),
        results=[oscal_result],
    )


def plan_of_action(result: ScanResult) -> Any:
    _, common, poam = _trestle()
    scan = result.metadata.id
    open_findings = [f for f in result.findings if f.waived is None and f.severity.rank >= RISK_THRESHOLD.rank]
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in open_findings:
        for system in _systems_of(result, f.asset_id) or ("",):
            groups.setdefault((f.rule_id, system), []).append(f)
    items = []
    for (rule_id, system), related in sorted(groups.items()):
        first = related[0]
        deadline = min((f.deadline for f in related if f.deadline), default=None)
        props = [
            common.Property(name="rule-id", value=rule_id, ns=_PROP_NS),
            common.Property(
                name="severity", value=max(related, key=lambda f: f.severity.rank).severity.value, ns=_PROP_NS
            ),
            common.Property(name="assets", value=str(len({f.asset_id for f in related})), ns=_PROP_NS),
        ]
        props += [common.Property(name="control", value=c, ns=_PROP_NS) for c in controls_of(first)]
        if system:
            props.append(common.Property(name="system", value=system, ns=_PROP_NS))
        if deadline:
            props.append(common.Property(name="milestone", value=deadline, ns=_PROP_NS))
        items.append(
            poam.PoamItem(
                uuid=_uuid(scan, "poam-item", rule_id, system),
                title=first.title + (f" ({system})" if system else ""),
                description=first.remediation or first.message,
                props=props,
                related_observations=[
                    common.RelatedObservation(observation_uuid=_uuid(scan, "observation", f.id)) for f in related
                ],
                related_risks=[common.AssociatedRisk(risk_uuid=_uuid(scan, "risk", f.id)) for f in related],
            )
        )
    return poam.PlanOfActionAndMilestones(
        uuid=_uuid(scan, "poam"),
        metadata=_metadata(common, result, f"keysweep plan of action and milestones: scan {scan}"),
        observations=_observations(common, result, open_findings) or None,
        risks=_risks(common, result, open_findings) or None,
        poam_items=items
        or [
            poam.PoamItem(
                uuid=_uuid(scan, "poam-item", "none"),
                title="No open weakness",
                description=f"No open finding at {RISK_THRESHOLD.value} or above in this scan.",
            )
        ],
    )


class OscalAssessmentResultsReporter:
    format: ClassVar[str] = "oscal-ar"

    def render(self, result: ScanResult) -> bytes:
        return bytes(assessment_results(result).oscal_serialize_json_bytes(pretty=True, wrapped=True))


class OscalPoamReporter:
    format: ClassVar[str] = "oscal-poam"

    def render(self, result: ScanResult) -> bytes:
        return bytes(plan_of_action(result).oscal_serialize_json_bytes(pretty=True, wrapped=True))
