"""The credential table through the real yara-x pass: every type found by its own rule, one
finding per value, structure checked offline, public values and masks not alarmed on."""

from __future__ import annotations

import base64
import collections
import json
import random
from fnmatch import fnmatchcase

import pytest

from checks.secrets.corpus import _crc_token, _macaroon, samples
from vmguard.checks.content import ContentScanner, compile_rules
from vmguard.checks.interface import FileContent
from vmguard.checks.secrets.patterns import SECRET_PATTERNS
from vmguard.findings import Finding, Severity

FAMILIES = ("cloud", "ci", "chat", "payment", "registry", "ai", "saas", "keys", "generic")


@pytest.fixture(scope="module")
def scanner() -> ContentScanner:
    return ContentScanner(compile_rules())


def scan(scanner: ContentScanner, text: str, path: str = "/srv/app/.env") -> list[Finding]:
    return scanner.scan(FileContent(path, text.encode(), 0))


def test_the_table_covers_hundreds_of_types_in_every_family() -> None:
    ids = [p.rule.rule_id for p in SECRET_PATTERNS]
    assert len(ids) == len(set(ids))
    families = collections.Counter(p.family for p in SECRET_PATTERNS)
    assert set(families) == set(FAMILIES)
    assert sum(n for family, n in families.items() if family != "generic") >= 200
    for pattern in SECRET_PATTERNS:
        assert pattern.rule.rule_id.startswith("secret.") and pattern.rule.remediation


@pytest.mark.parametrize("seed", [13, 14])
def test_every_type_is_found_by_its_own_rule_and_only_once(
    scanner: ContentScanner, seed: int
) -> None:
    wrong = []
    for sample in samples(seed):
        found = scan(scanner, sample.text, sample.guest_path)
        if [f.rule_id for f in found] != [sample.rule_id]:
            wrong.append((sample.rule_id, [f.rule_id for f in found]))
        for f in found:
            assert sample.secret not in f.evidence, f.rule_id
    assert wrong == []


def test_a_provider_disables_as_one_glob() -> None:
    slack = [
        p.rule.rule_id for p in SECRET_PATTERNS if fnmatchcase(p.rule.rule_id, "secret.slack-*")
    ]
    assert len(slack) == 8
    assert all("slack" in p.rule.title.lower() for p in SECRET_PATTERNS if p.rule.rule_id in slack)


def test_checksums_decide_between_verified_and_unverified(scanner: ContentScanner) -> None:
    rng = random.Random(1)
    good = _crc_token("npm_", rng)
    bad = good[:-1] + ("A" if good[-1] != "A" else "B")
    (ok,) = scan(scanner, f"NPM_TOKEN={good}\n")
    (unverified,) = scan(scanner, f"NPM_TOKEN={bad}\n")
    assert ok.severity is Severity.HIGH and "checksum valid" in ok.evidence
    assert unverified.severity is Severity.MEDIUM and "unverified" in unverified.evidence


def test_structured_tokens_must_decode(scanner: ContentScanner) -> None:
    rng = random.Random(2)
    pypi = "pypi-" + _macaroon(b"pypi.org", rng)
    (found,) = scan(scanner, f"password = {pypi}\n", "/root/.pypirc")
    assert found.rule_id == "secret.pypi-token" and "macaroon for pypi.org" in found.evidence
    broken = pypi[:20] + "A" * 60  # pypi.org's location, then no identifier
    assert [f.rule_id for f in scan(scanner, f"x {broken}\n")] == []
    age_bad = "AGE-SECRET-KEY-1" + "Q" * 57 + "P"
    assert scan(scanner, f"{age_bad}\n") == []


def _jwt(header: dict[str, object], payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signature = base64.urlsafe_b64encode(random.randbytes(32)).decode().rstrip("=")
    return f"{part(header)}.{part(payload)}.{signature}"


def test_jwt_samples_unsigned_and_expired_tokens_are_not_high(scanner: ContentScanner) -> None:
    sample = _jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "name": "John Doe"})
    (public,) = scan(scanner, f"auth: {sample}\n", "/srv/app/app.yaml")
    assert public.severity is Severity.INFO and "jwt.io sample" in public.evidence
    unsigned = _jwt({"alg": "none"}, {"sub": "svc-backup", "iat": 1700000000})
    assert scan(scanner, f"auth: {unsigned}\n")[0].severity is Severity.LOW
    expired = _jwt({"alg": "RS256"}, {"sub": "svc-backup", "exp": 1600000000})
    (old,) = scan(scanner, f"auth: {expired}\n")
    assert old.severity is Severity.LOW and "expired 2020-09-13" in old.evidence
    live = _jwt({"alg": "RS256"}, {"sub": "svc-backup", "exp": 4100000000})
    assert scan(scanner, f"auth: {live}\n")[0].severity is Severity.MEDIUM


AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


def test_public_values_are_info_with_the_reason(scanner: ContentScanner) -> None:
    (azurite,) = scan(scanner, f"STORAGE={AZURITE}\n")
    assert azurite.severity is Severity.INFO and "Azurite" in azurite.evidence
    (stripe,) = scan(scanner, 'stripe.api_key = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"\n')
    assert stripe.severity is Severity.INFO and "Stripe documentation" in stripe.evidence


FALSE_POSITIVES = [
    "SLACK_TOKEN=xoxp-…-####",
    "slack_token: xoxb-XXXXXXXXXXXX-XXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXX",
    "slack_token = 'xoxp-1234567890-1234567890-1234567890-****************'",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "GITHUB_TOKEN=${GITHUB_TOKEN}",
    "api_key: <your-api-key>",
    "OPENAI_API_KEY=sk-proj-...",
    "stripe_key = 'sk_live_' + os.environ['STRIPE']",
    "password: {{ vault_db_password }}",
    "DATABASE_URL=postgres://user:password@localhost/db",
    "url = https://user:pass@example.com/repo.git",
    "heroku_api_key = 00000000-0000-0000-0000-000000000000",
    "token = os.environ.get('API_TOKEN')",
    "password = self.password",
    "secret_key_file = /etc/app/secret.key",
    "password_min_length = 12",
    "tokenizer = bert-base-uncased-v2",
    "token_type: Bearer",
    "PASSWORD=changeme123",
    "password: required_for_login",
    "<password>${env.DB_PASSWORD}</password>",
    "secret: my-app-secret-name",
    "curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA==' https://ci.example.org",
]


@pytest.mark.parametrize("line", FALSE_POSITIVES)
def test_placeholders_masks_and_code_are_not_secrets(scanner: ContentScanner, line: str) -> None:
    assert [(f.rule_id, f.evidence) for f in scan(scanner, line + "\n")] == []


GENERIC = [
    ("/srv/app/.env", "DB_PASSWORD=q7Vz!k2Lm9#pX", "secret.generic-password"),
    ("/srv/app/config.yaml", "database:\n  password: 'Zr8$wq1Lk0Pt'", "secret.generic-password"),
    (
        "/srv/app/settings.json",
        '{"apiKey": "c0b1f2e3d4a5968778695a4b3c2d1e0f9"}',
        "secret.generic-api-key",
    ),
    (
        "/srv/app/config.toml",
        '[auth]\nclient_secret = "Xk29-aPq81_zRt55-LmN0"',
        "secret.generic-secret",
    ),
    ("/etc/app/app.ini", "[db]\npasswd = h4Ng!9xQw2", "secret.generic-password"),
    (
        "/srv/app/app.properties",
        "spring.datasource.password=Pq9#vLm2Xz81",
        "secret.generic-password",
    ),
    (
        "/srv/app/web.xml",
        "<auth><token>a8F3kL0pQ9zX2mN7vB4cR6</token></auth>",
        "secret.generic-token",
    ),
    (
        "/var/www/wp-config.php",
        "define( 'DB_PASSWORD', 'w9P!x2Lq7Zr' );",
        "secret.generic-password",
    ),
    (
        "/srv/app/settings.py",
        'SECRET_KEY = "django-insecure-7q$z!x0p9k2m3n4b"',
        "secret.generic-secret",
    ),
    ("/etc/redis/redis.conf", "requirepass 9fKq2!xZp7Lm", None),
]


@pytest.mark.parametrize(("path", "text", "rule"), GENERIC)
def test_generic_assignments_in_every_format(
    scanner: ContentScanner, path: str, text: str, rule: str | None
) -> None:
    found = scan(scanner, text + "\n", path)
    assert [f.rule_id for f in found] == ([rule] if rule else [])
    for f in found:
        assert f.severity is Severity.MEDIUM


def test_a_provider_token_in_a_secret_named_key_is_one_provider_finding(
    scanner: ContentScanner,
) -> None:
    token = _crc_token("ghp_", random.Random(3))
    text = f'GITHUB_TOKEN={token}\nconfig = {{"api_token": "{token}"}}\n'
    assert [f.rule_id for f in scan(scanner, text)] == ["secret.github-token"]


def test_keyword_and_generic_matches_do_not_count_in_binaries(scanner: ContentScanner) -> None:
    text = (
        b"\x7fELF\x02\x01\x01"
        + b"\0" * 64
        + b"DB_PASSWORD=q7Vz!k2Lm9#pX\0heroku_key="
        + (b"0c8d1954-aaaa-4bbb-8ccc-1234567890ab\0")
    )
    found = scanner.scan(FileContent("/usr/bin/app", text, 0, compiled=True))
    assert found == []


def test_binary_files_are_searched_for_prefixed_tokens_only(scanner: ContentScanner) -> None:
    token = _crc_token("ghp_", random.Random(5))
    blob = b"\x00\x01\x02 packed " + b"\0" * 32 + f"DB_PASSWORD=q7Vz!k2Lm9#pX\0{token}\0".encode()
    found = scanner.scan(FileContent("/var/lib/app/state.bin", blob, 0))
    assert [f.rule_id for f in found] == ["secret.github-token"]


def test_package_indexes_get_only_prefixed_tokens(scanner: ContentScanner) -> None:
    token = _crc_token("ghp_", random.Random(6))
    text = f"Package: app\nDescription: DB_PASSWORD=q7Vz!k2Lm9#pX\nX-Token: {token}\n"
    found = scan(scanner, text, "/var/lib/apt/lists/deb.debian.org_debian_dists_main_Packages")
    assert [f.rule_id for f in found] == ["secret.github-token"]
    assert [f.rule_id for f in scan(scanner, text, "/srv/app/notes.txt")] == [
        "secret.generic-password",
        "secret.github-token",
    ]


def test_kubernetes_secret_manifests_list_keys_only(scanner: ContentScanner) -> None:
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
        "  username: YWRtaW4=\n  password: UzNjcjN0LVBhc3N3MHJkIQ==\nstringData:\n"
        "  api-token: q8Zk2LmP0xR7\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n"
        "data:\n  password: '{{ .Values.password | b64enc }}'\n"
    )
    (found,) = scan(scanner, manifest, "/srv/k8s/secret.yaml")
    assert found.rule_id == "secret.kubernetes-secret"
    assert "username, password, api-token" in found.evidence
    assert "UzNjcjN0" not in found.evidence and "q8Zk2" not in found.evidence


def test_azure_client_secrets_with_any_version_digit(scanner: ContentScanner) -> None:
    for digit in "378":
        secret = f"Ab3{digit}Q~x7Yb2Lq9Zr4Tn6Wm1Pv3Hs5Jc8Fk0Gd2Qa"
        found = scan(scanner, f'{{"ClientSecret": "{secret}"}}', "/srv/api/appsettings.json")
        assert [f.rule_id for f in found] == ["secret.azure-client-secret"]


def test_aws_key_ids_name_their_account(scanner: ContentScanner) -> None:
    # The account id is encoded in the key id (base32); this one encodes 123456789012.
    account = 123456789012
    raw = ((account << 7) | 0x7F).to_bytes(6, "big") + random.Random(4).randbytes(4)
    key_id = "AKIA" + base64.b32encode(raw).decode()
    (found,) = scan(scanner, f"aws_access_key_id={key_id}\n")
    assert "account 123456789012" in found.evidence
