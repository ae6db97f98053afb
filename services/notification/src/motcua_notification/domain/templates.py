"""Versioned message templates, rendered in Jinja2's sandbox.

A province's templates are data (infra/provinces/<province>/notification-templates.yaml). Each version
holds the text per language (Vietnamese first), and for the channels that send only templates
registered with the provider (Zalo ZNS, brandname SMS) the provider's template id and the parameters
it fills. Rendering is strict: a missing variable is an error, never blank text; a template that
reaches outside the sandbox fails to render.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping

import yaml
from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from motcua_common.errors import InvalidArgument, NotFound, RuleViolated

from motcua_notification.domain.sms_text import SmsText, sms_text

EMAIL, SMS, ZNS = "email", "sms", "zns"
CHANNELS = (EMAIL, SMS, ZNS)
DEFAULT_LANGUAGE = "vi"
AUDIENCES = ("citizen", "official")


def _ngay(value: Any) -> str:
    """A date the Vietnamese way: 03/12/2026."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise TemplateError(f"not a date: {value!r}")
    return value.strftime("%d/%m/%Y")


def _vnd(value: Any) -> str:
    """An amount in đồng: 150.000 đồng."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TemplateError(f"not a whole amount of đồng: {value!r}")
    return f"{value:,}".replace(",", ".") + " đồng"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(ngay=_ngay, vnd=_vnd)
    return env


@dataclass(frozen=True)
class ProviderTemplate:
    """A template registered with a provider (ZNS or brandname SMS) and how to fill its parameters."""

    provider_template_id: str
    parameters: Mapping[str, str]
    text: str = ""  # SMS: the registered text


@dataclass(frozen=True)
class TemplateVersion:
    template_id: str
    version: int
    audience: str
    legally_required: bool
    variables: tuple[str, ...]
    text: Mapping[str, Mapping[str, str]]  # language -> {"subject", "body"}
    providers: Mapping[str, ProviderTemplate] = field(default_factory=dict)  # channel -> registered template

    @property
    def channels(self) -> tuple[str, ...]:
        return (EMAIL, *sorted(self.providers))


@dataclass(frozen=True)
class Rendered:
    template_id: str
    version: int
    language: str
    channel: str
    subject: str
    body: str
    provider_template_id: str = ""
    parameters: Mapping[str, str] = field(default_factory=dict)
    sms: SmsText | None = None


class TemplateBook:
    """Every version of every template of one province."""

    def __init__(self, versions: list[TemplateVersion], sms_ascii_only: bool = True) -> None:
        self._env = _environment()
        self._versions: dict[str, dict[int, TemplateVersion]] = {}
        self.sms_ascii_only = sms_ascii_only
        for v in versions:
            self._versions.setdefault(v.template_id, {})[v.version] = v
        self._compiled: dict[str, Any] = {}
        for v in versions:
            self._check(v)

    # -- loading ----------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: Path) -> "TemplateBook":
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")))

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "TemplateBook":
        versions = []
        for template_id, spec in (data.get("templates") or {}).items():
            if spec.get("audience") not in AUDIENCES:
                raise ValueError(f"template {template_id}: audience must be one of {AUDIENCES}")
            for raw in spec["versions"]:
                providers = {channel: ProviderTemplate(str(raw[channel]["provider_template_id"]),
                                                       dict(raw[channel].get("parameters") or {}),
                                                       raw[channel].get("text", ""))
                             for channel in (SMS, ZNS) if channel in raw}
                versions.append(TemplateVersion(
                    template_id=template_id, version=int(raw["version"]), audience=spec["audience"],
                    legally_required=bool(spec.get("legally_required", False)),
                    variables=tuple(raw.get("variables") or ()), text=raw["text"], providers=providers))
        return cls(versions, sms_ascii_only=bool((data.get("sms") or {}).get("ascii_only", True)))

    def _sources(self, v: TemplateVersion) -> list[tuple[str, str]]:
        where = f"{v.template_id} v{v.version}"
        sources = [(f"{where} {lang}.{part}", text) for lang, parts in v.text.items() for part, text in parts.items()]
        for channel, provider in v.providers.items():
            if provider.text:
                sources.append((f"{where} {channel}.text", provider.text))
            sources += [(f"{where} {channel}.parameters.{k}", t) for k, t in provider.parameters.items()]
        return sources

    def _check(self, v: TemplateVersion) -> None:
        """Refuse a book whose templates do not compile or use a variable they do not declare."""
        if DEFAULT_LANGUAGE not in v.text:
            raise ValueError(f"template {v.template_id} v{v.version} has no Vietnamese text")
        if SMS in v.providers and not v.providers[SMS].text:
            raise ValueError(f"template {v.template_id} v{v.version}: the SMS template has no text")
        for where, source in self._sources(v):
            try:
                used = meta.find_undeclared_variables(self._env.parse(source))
                self._compiled[source] = self._env.from_string(source)
            except TemplateError as error:
                raise ValueError(f"template {where} does not compile: {error}") from error
            undeclared = used - set(v.variables)
            if undeclared:
                raise ValueError(f"template {where} uses undeclared variables {sorted(undeclared)}")

    # -- reading ----------------------------------------------------------------------------------
    def latest(self, template_id: str) -> TemplateVersion:
        versions = self._versions.get(template_id)
        if not versions:
            raise NotFound("template_id", f"no template {template_id!r}")
        return versions[max(versions)]

    def get(self, template_id: str, version: int) -> TemplateVersion:
        found = self._versions.get(template_id, {}).get(version)
        if found is None:
            raise NotFound("template_id", f"no template {template_id!r} version {version}")
        return found

    def ids(self) -> list[str]:
        return sorted(self._versions)

    # -- rendering --------------------------------------------------------------------------------
    def render(self, template_id: str, version: int, channel: str, variables: Mapping[str, Any],
               language: str = DEFAULT_LANGUAGE) -> Rendered:
        """The message as `channel` sends it; missing variables and failing templates are refused."""
        v = self.get(template_id, version)
        if channel not in v.channels:
            raise RuleViolated("CHANNEL_NOT_AVAILABLE",
                               f"template {template_id} v{version} is not registered for {channel}")
        missing = [name for name in v.variables if name not in variables]
        if missing:
            raise InvalidArgument.single(f"variables.{missing[0]}",
                                         f"is required by template {template_id} v{version} (missing: {missing})")
        language = language if language in v.text else DEFAULT_LANGUAGE
        values = {name: variables[name] for name in v.variables}
        subject = self._run(v, v.text[language]["subject"], values).strip()
        body = self._run(v, v.text[language]["body"], values).strip()
        provider = v.providers.get(channel)
        if provider is None:
            return Rendered(template_id, version, language, channel, subject, body)
        parameters = {name: self._run(v, source, values) for name, source in provider.parameters.items()}
        sms = sms_text(self._run(v, provider.text, values), self.sms_ascii_only) if channel == SMS else None
        return Rendered(template_id, version, DEFAULT_LANGUAGE, channel, subject, sms.text if sms else body,
                        provider.provider_template_id, parameters, sms)

    def _run(self, v: TemplateVersion, source: str, values: Mapping[str, Any]) -> str:
        try:
            return self._compiled[source].render(values)
        except TemplateError as error:  # incl. UndefinedError and the sandbox's SecurityError
            raise InvalidArgument.single("variables", f"template {v.template_id} v{v.version} does not render: "
                                                      f"{error}") from error
