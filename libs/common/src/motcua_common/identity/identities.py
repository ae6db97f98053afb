"""Who signs in to a province, as data (infra/provinces/<p>/identities.yaml), and the local
identity provider's realm generated from it.

The realm is a Keycloak realm import: officials (roles and unit), citizens (pseudonymous `sub`
plus a citizen-ID claim), integrator clients (client-credentials with scopes), and one public
development client for the password grant. Passwords and client secrets come from a secrets
file kept outside the repository (.local/idp/), generated on first use.

    python -m motcua_common.identity.identities realm <identities.yaml> <units.yaml> <policy.yaml> <secrets-file> <out.json>
"""
from __future__ import annotations

import json
import re
import secrets as random_secrets
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from motcua_common.province.organisation import Organisation
from motcua_common.identity.authorisation import Policy

#: claim names in access tokens (tokens.py reads them; the realm's mappers write them)
CLAIM_KIND = "motcua_kind"
CLAIM_ROLES = "motcua_roles"
CLAIM_UNIT = "motcua_unit"
CLAIM_CITIZEN_ID = "motcua_citizen_id"
#: kinds a token may carry: `system` exists only inside the platform
TOKEN_KINDS = ("official", "citizen", "integrator")
#: public client for the password grant on a development/test identity provider only
DEV_CLIENT_ID = "motcua-dev-cli"
ADMIN_PASSWORD_KEY = "IDP_ADMIN_PASSWORD"

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_CITIZEN_ID = re.compile(r"^[0-9]{12}$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_.:-]{1,62}$")
# uuid5 namespace of the demo realms' user ids: a recreated realm gives everyone the same `sub`.
_USER_IDS = uuid.UUID("6f1c3a52-8d1e-5b7a-9c43-2e0f7d5b9a11")


class IdentityDataError(ValueError):
    pass


@dataclass(frozen=True)
class OfficialAccount:
    username: str
    name: str
    roles: tuple[str, ...]
    unit: str = ""


@dataclass(frozen=True)
class CitizenAccount:
    username: str
    name: str
    citizen_id: str


@dataclass(frozen=True)
class IntegratorClient:
    client_id: str
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Identities:
    realm: str
    audience: str
    officials: tuple[OfficialAccount, ...]
    citizens: tuple[CitizenAccount, ...]
    integrators: tuple[IntegratorClient, ...]

    def user_id(self, username: str) -> str:
        """The stable `sub` of a demo user (the same after the realm is recreated)."""
        return str(uuid.uuid5(_USER_IDS, f"{self.realm}:{username}"))

    @classmethod
    def from_data(cls, data: dict, organisation: Organisation, roles: frozenset[str]) -> "Identities":
        realm, audience = str(data.get("realm", "")), str(data.get("audience", ""))
        for field_name, value in (("realm", realm), ("audience", audience)):
            if not _NAME.match(value):
                raise IdentityDataError(f"{field_name} must be a lower-case name, not {value!r}")
        today = datetime.now(timezone.utc)
        officials = []
        for raw in data.get("officials") or []:
            username = _username(raw)
            official_roles = tuple(str(r) for r in raw.get("roles") or [])
            if not official_roles:
                raise IdentityDataError(f"official {username}: at least one role is needed")
            unknown = sorted(set(official_roles) - roles)
            if unknown:
                raise IdentityDataError(f"official {username}: roles {unknown} are not in the policy ({sorted(roles)})")
            unit = str(raw.get("unit") or "")
            if unit and organisation.in_force(unit, today) is None:
                raise IdentityDataError(f"official {username}: unit {unit} is not a unit in force")
            officials.append(OfficialAccount(username, str(raw.get("name", "")), official_roles, unit))
        citizens = []
        for raw in data.get("citizens") or []:
            username = _username(raw)
            citizen_id = str(raw.get("citizen_id", ""))
            if not _CITIZEN_ID.match(citizen_id):
                raise IdentityDataError(f"citizen {username}: citizen_id must be 12 digits")
            citizens.append(CitizenAccount(username, str(raw.get("name", "")), citizen_id))
        integrators = []
        for raw in data.get("integrators") or []:
            client_id = str(raw.get("client_id", ""))
            if not _NAME.match(client_id) or client_id == DEV_CLIENT_ID:
                raise IdentityDataError(f"integrator client_id {client_id!r} is not a usable lower-case name")
            scopes = tuple(str(s) for s in raw.get("scopes") or [])
            bad = [s for s in scopes if not _SCOPE.match(s)]
            if bad:
                raise IdentityDataError(f"integrator {client_id}: scopes {bad} are not scope names")
            integrators.append(IntegratorClient(client_id, str(raw.get("name", "")), scopes))
        names = [a.username for a in officials] + [c.username for c in citizens]
        if len(names) != len(set(names)):
            raise IdentityDataError("a username appears twice")
        client_ids = [c.client_id for c in integrators]
        if len(client_ids) != len(set(client_ids)):
            raise IdentityDataError("an integrator client_id appears twice")
        return cls(realm, audience, tuple(officials), tuple(citizens), tuple(integrators))

    @classmethod
    def load(cls, path: Path, organisation: Organisation, roles: frozenset[str]) -> "Identities":
        return cls.from_data(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, organisation, roles)


def _username(raw: dict) -> str:
    username = str(raw.get("username", ""))
    if not _NAME.match(username) or username.startswith("service-account-"):
        raise IdentityDataError(f"username {username!r} must be a lower-case name")
    return username


# --- secrets (outside the repository) -------------------------------------------------------

def password_key(username: str) -> str:
    return f"PASSWORD_{username}"


def client_secret_key(client_id: str) -> str:
    return f"CLIENT_SECRET_{client_id}"


def read_secrets(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


def ensure_secrets(path: Path, identities: Identities) -> dict[str, str]:
    """Every password and client secret the realm needs, generating the missing ones (mode 0600)."""
    values = read_secrets(path)
    wanted = [ADMIN_PASSWORD_KEY] + [password_key(a.username) for a in (*identities.officials, *identities.citizens)]
    wanted += [client_secret_key(c.client_id) for c in identities.integrators]
    missing = [k for k in wanted if not values.get(k)]
    if missing:
        for key in missing:
            values[key] = random_secrets.token_urlsafe(18)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()), encoding="utf-8")
        path.chmod(0o600)
    return values


# --- the Keycloak realm ---------------------------------------------------------------------

def _attribute_mapper(claim: str, attribute: str, multivalued: bool = False) -> dict:
    return {"name": claim, "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": {"user.attribute": attribute, "claim.name": claim, "jsonType.label": "String",
                       "multivalued": str(multivalued).lower(), "access.token.claim": "true",
                       "id.token.claim": "false", "userinfo.token.claim": "false",
                       "introspection.token.claim": "true"}}


def _user_profile() -> str:
    """Declarative user profile: names only; the motcua_* attributes are admin-only (users cannot set them)."""
    def attr(name: str, display: str) -> dict:
        return {"name": name, "displayName": display, "validations": {"length": {"max": 255}},
                "permissions": {"view": ["admin", "user"], "edit": ["admin"]}, "multivalued": False}
    return json.dumps({
        "attributes": [
            {"name": "username", "displayName": "${username}", "validations": {"length": {"min": 2, "max": 255}},
             "permissions": {"view": ["admin", "user"], "edit": ["admin"]}, "multivalued": False},
            attr("email", "${email}"), attr("firstName", "${firstName}"), attr("lastName", "${lastName}"),
        ],
        "groups": [],
        "unmanagedAttributePolicy": "ADMIN_EDIT",
    })


def _split_name(name: str) -> tuple[str, str]:
    # Vietnamese order: family name first, given name last.
    parts = name.split()
    if len(parts) < 2:
        return name or "-", "-"
    return parts[-1], " ".join(parts[:-1])


def realm_representation(identities: Identities, secrets: dict[str, str], roles: frozenset[str]) -> dict:
    api_scope = {
        "name": "motcua-api", "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
        "protocolMappers": [
            {"name": "audience", "protocol": "openid-connect", "protocolMapper": "oidc-audience-mapper",
             "config": {"included.custom.audience": identities.audience, "access.token.claim": "true",
                        "id.token.claim": "false", "introspection.token.claim": "true"}},
            {"name": "sub", "protocol": "openid-connect", "protocolMapper": "oidc-sub-mapper",
             "config": {"access.token.claim": "true", "introspection.token.claim": "true"}},
            _attribute_mapper("preferred_username", "username"),
            _attribute_mapper(CLAIM_KIND, CLAIM_KIND),
            _attribute_mapper(CLAIM_UNIT, CLAIM_UNIT),
            _attribute_mapper(CLAIM_CITIZEN_ID, CLAIM_CITIZEN_ID),
            {"name": CLAIM_ROLES, "protocol": "openid-connect", "protocolMapper": "oidc-usermodel-client-role-mapper",
             "config": {"usermodel.clientRoleMapping.clientId": identities.audience, "claim.name": CLAIM_ROLES,
                        "multivalued": "true", "jsonType.label": "String", "access.token.claim": "true",
                        "id.token.claim": "false", "userinfo.token.claim": "false",
                        "introspection.token.claim": "true"}},
        ],
    }
    integrator_scopes = sorted({s for c in identities.integrators for s in c.scopes})
    scopes = [api_scope] + [
        {"name": s, "protocol": "openid-connect",
         "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"}}
        for s in integrator_scopes
    ]
    clients = [
        # The API itself: it only owns the roles (its client roles are the motcua_roles claim).
        {"clientId": identities.audience, "enabled": True, "bearerOnly": True, "publicClient": False,
         "standardFlowEnabled": False, "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False,
         "defaultClientScopes": [], "optionalClientScopes": []},
        # Development and tests only: the password grant, so a curl or a test can sign in.
        {"clientId": DEV_CLIENT_ID, "enabled": True, "publicClient": True, "standardFlowEnabled": False,
         "implicitFlowEnabled": False, "directAccessGrantsEnabled": True, "serviceAccountsEnabled": False,
         "fullScopeAllowed": True, "defaultClientScopes": ["motcua-api"], "optionalClientScopes": []},
    ]
    users = []
    for client in identities.integrators:
        clients.append({
            "clientId": client.client_id, "name": client.name, "enabled": True, "publicClient": False,
            "clientAuthenticatorType": "client-secret", "secret": secrets[client_secret_key(client.client_id)],
            "standardFlowEnabled": False, "implicitFlowEnabled": False, "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": True, "fullScopeAllowed": False,
            "defaultClientScopes": ["motcua-api", *client.scopes], "optionalClientScopes": [],
        })
        users.append({"username": f"service-account-{client.client_id}", "enabled": True,
                      "serviceAccountClientId": client.client_id,
                      "attributes": {CLAIM_KIND: ["integrator"]}})
    for official in identities.officials:
        first, last = _split_name(official.name)
        attributes = {CLAIM_KIND: ["official"]}
        if official.unit:
            attributes[CLAIM_UNIT] = [official.unit]
        users.append({"id": identities.user_id(official.username), "username": official.username,
                      "enabled": True, "firstName": first, "lastName": last, "attributes": attributes,
                      "credentials": [{"type": "password", "temporary": False,
                                       "value": secrets[password_key(official.username)]}],
                      "clientRoles": {identities.audience: list(official.roles)}})
    for citizen in identities.citizens:
        first, last = _split_name(citizen.name)
        users.append({"id": identities.user_id(citizen.username), "username": citizen.username,
                      "enabled": True, "firstName": first, "lastName": last,
                      "attributes": {CLAIM_KIND: ["citizen"], CLAIM_CITIZEN_ID: [citizen.citizen_id]},
                      "credentials": [{"type": "password", "temporary": False,
                                       "value": secrets[password_key(citizen.username)]}]})
    return {
        "realm": identities.realm, "enabled": True, "sslRequired": "external",
        "accessTokenLifespan": 300, "bruteForceProtected": True,
        "clientScopes": scopes, "defaultDefaultClientScopes": [], "defaultOptionalClientScopes": [],
        "roles": {"client": {identities.audience: [{"name": r, "clientRole": True} for r in sorted(roles)]}},
        "clients": clients, "users": users,
        "requiredActions": [],
        "components": {"org.keycloak.userprofile.UserProfileProvider": [
            {"providerId": "declarative-user-profile", "subComponents": {},
             "config": {"kc.user.profile.config": [_user_profile()]}}]},
    }


def _realm_command(identities_path: str, units_path: str, policy_path: str, secrets_path: str, out: str) -> None:
    policy = Policy.load(Path(policy_path))
    identities = Identities.load(Path(identities_path), Organisation.load(Path(units_path)), policy.roles())
    secrets = ensure_secrets(Path(secrets_path), identities)
    realm = realm_representation(identities, secrets, policy.roles())
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600, exist_ok=True)
    target.write_text(json.dumps(realm, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    print(identities.realm)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 6 or args[0] != "realm":
        sys.exit(__doc__.split("\n\n")[-1])
    try:
        _realm_command(*args[1:])
    except (IdentityDataError, ValueError, OSError) as error:
        sys.exit(f"identities: {error}")


if __name__ == "__main__":
    main()
