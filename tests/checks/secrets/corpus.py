"""A recall corpus: one sample per credential type, each in its own realistic file.

Samples are drawn from each table row's documented shape (its regular expression, walked
with Python's own regex parser), then made valid where the format carries structure (a
GitHub/npm CRC32, an age bech32 checksum, a PyPI macaroon, a Grafana JSON body, a Discord
user id). Each sample is written the way real images carry it — ``.env``, YAML, JSON, TOML,
``.properties``, Python settings, shell history, systemd drop-in — rotating over the forms.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from dataclasses import dataclass
from pathlib import Path
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from vmguard.checks.secrets.model import SecretPattern, Specificity
from vmguard.checks.secrets.patterns import SECRET_PATTERNS
from vmguard.checks.secrets.structure import _BECH32
from vmguard.checks.secrets.validators import github_checksum

_SAFE = string.ascii_letters + string.digits
_SPACE = " "


@dataclass(frozen=True, slots=True)
class Sample:
    """One planted credential."""

    rule_id: str
    family: str
    guest_path: str
    text: str
    """The whole file."""
    secret: str
    """What must never appear whole in any output."""


def _category(code: object, rng: random.Random) -> str:
    if code == sre_c.CATEGORY_DIGIT:
        return rng.choice(string.digits)
    if code == sre_c.CATEGORY_SPACE:
        return _SPACE
    return rng.choice(_SAFE)


def _choose_in(items: list[tuple[object, object]], rng: random.Random) -> str:
    negate = any(op == sre_c.NEGATE for op, _ in items)
    pool: list[str] = []
    for op, arg in items:
        if op == sre_c.LITERAL:
            pool.append(chr(arg))  # type: ignore[arg-type]
        elif op == sre_c.RANGE:
            lo, hi = arg  # type: ignore[misc]
            pool.extend(chr(c) for c in range(lo, hi + 1))
        elif op == sre_c.CATEGORY:
            pool.extend(
                string.digits
                if arg == sre_c.CATEGORY_DIGIT
                else _SPACE
                if arg == sre_c.CATEGORY_SPACE
                else _SAFE + "_"
            )
    if negate:
        return rng.choice([c for c in _SAFE if c not in pool])
    # A space or separator never starts a draw we do not control; prefer token characters.
    alnum = [c for c in pool if c.isalnum()]
    return rng.choice(alnum if alnum and rng.random() < 0.9 else pool)


def _walk(tree: object, rng: random.Random, short: bool) -> str:
    out: list[str] = []
    for op, arg in tree:  # type: ignore[attr-defined]
        if op == sre_c.LITERAL:
            out.append(chr(arg))
        elif op == sre_c.IN:
            out.append(_choose_in(arg, rng))
        elif op == sre_c.ANY:
            out.append(rng.choice(_SAFE))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, sub = arg
            high = low + 24 if high == sre_c.MAXREPEAT else high
            count = low if short else rng.randint(low, min(high, low + 12))
            out.extend(_walk(sub, rng, short) for _ in range(count))
        elif op == sre_c.SUBPATTERN:
            out.append(_walk(arg[-1], rng, short))
        elif op == sre_c.BRANCH:
            out.append(_walk(rng.choice(arg[1]), rng, short))
        elif op == sre_c.CATEGORY:
            out.append(_category(arg, rng))
        # AT (\b, ^, $) adds nothing
    return "".join(out)


def draw(regex: str, rng: random.Random, *, short: bool = False) -> str:
    """A string the regular expression matches, random where it allows."""
    return _walk(sre_parse.parse(regex), rng, short)


def _crc_token(prefix: str, rng: random.Random) -> str:
    body = "".join(rng.choice(_SAFE) for _ in range(30))
    return prefix + body + github_checksum(body)


def _bech32(hrp: str, data: list[int]) -> str:
    def polymod(values: list[int]) -> int:
        check = 1
        for value in values:
            top = check >> 25
            check = (check & 0x1FFFFFF) << 5 ^ value
            for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
                if (top >> i) & 1:
                    check ^= gen
        return check

    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def _macaroon(location: bytes, rng: random.Random) -> str:
    identifier = json.dumps({"nonce": rng.randbytes(16).hex(), "version": 1}).encode()
    raw = b"\x02\x01" + bytes([len(location)]) + location
    raw += b"\x02" + bytes([len(identifier)]) + identifier + b"\x00\x00\x06\x20" + rng.randbytes(32)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _structured(rule_id: str, rng: random.Random) -> str | None:
    """Samples whose format carries a checksum or an encoding the validators check."""
    b64 = lambda raw: base64.b64encode(raw).decode().rstrip("=")  # noqa: E731
    match rule_id:
        case "secret.github-token" | "secret.github-oauth-token":
            return _crc_token("ghp_" if rule_id == "secret.github-token" else "gho_", rng)
        case "secret.github-user-token" | "secret.github-app-token":
            return _crc_token("ghu_" if "user" in rule_id else "ghs_", rng)
        case "secret.github-refresh-token":
            return _crc_token("ghr_", rng)
        case "secret.npm-token":
            return _crc_token("npm_", rng)
        case "secret.pypi-token":
            return "pypi-" + _macaroon(b"pypi.org", rng)
        case "secret.testpypi-token":
            return "pypi-" + _macaroon(b"test.pypi.org", rng)
        case "secret.age-secret-key":
            return _bech32("age-secret-key-", [rng.randrange(32) for _ in range(52)]).upper()
        case "secret.grafana-cloud-token":
            body = {"o": str(rng.randrange(10**6)), "n": "deploy", "k": rng.randbytes(18).hex()}
            return "glc_" + b64(json.dumps(body, separators=(",", ":")).encode())
        case "secret.grafana-api-key":
            body = {"k": rng.randbytes(16).hex(), "n": "ci", "id": 1}
            return b64(json.dumps(body, separators=(",", ":")).encode())
        case "secret.jwt-base64":
            header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
            body = b64(
                json.dumps({"sub": f"svc-{rng.randrange(10**6)}", "iat": 1700000000}).encode()
            )
            jwt = f"{header}.{body}.{b64(rng.randbytes(32))}".replace("+", "-").replace("/", "_")
            return base64.b64encode(jwt.encode()).decode()
        case "secret.basic-auth-header":
            password = "".join(rng.choice(_SAFE) for _ in range(16))
            return "Authorization: Basic " + base64.b64encode(f"ci:{password}".encode()).decode()
        case "secret.discord-bot-token":
            user = str(rng.randrange(10**17, 10**18)).encode()
            return b64(user) + "." + draw(r"[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{30}", rng)
    return None


_FORMS = ("env", "yaml", "json", "toml", "properties", "python", "history", "systemd")


def _file(form: str, key: str, value: str, index: int) -> tuple[str, str]:
    """(guest path, file text) for one key = value in one of the realistic forms."""
    home = f"/srv/app{index}"
    match form:
        case "env":
            return f"{home}/.env", f"# app settings\nAPP_ENV=production\n{key}={value}\n"
        case "yaml":
            return f"{home}/config.yaml", f"service:\n  name: app\n  {key.lower()}: {value}\n"
        case "json":
            text = json.dumps({"name": "app", key.lower(): value}, indent=2)
            return f"{home}/settings.json", text + "\n"
        case "toml":
            return f"{home}/config.toml", f'[service]\nname = "app"\n{key.lower()} = "{value}"\n'
        case "properties":
            prop = key.lower().replace("_", ".")
            return f"{home}/application.properties", f"server.port=8080\n{prop}={value}\n"
        case "python":
            return f"{home}/settings.py", f'DEBUG = False\n{key} = "{value}"\n'
        case "history":
            return f"/home/u{index}/.bash_history", f"ls -la\nexport {key}={value}\n./deploy.sh\n"
    return (
        f"/etc/systemd/system/app{index}.service.d/override.conf",
        f'[Service]\nEnvironment="{key}={value}"\n',
    )


def _key(pattern: SecretPattern, keyword: str | None) -> str:
    if keyword:
        return re.sub(r"[^A-Za-z0-9_]", "_", keyword).upper() + "_KEY"
    provider = pattern.rule.rule_id.removeprefix("secret.").split("-")[0]
    return f"{provider.upper()}_CREDENTIAL"


def samples(seed: int = 13) -> list[Sample]:
    """One sample per table row (and per coded pattern with a simple shape)."""
    from vmguard.checks.secrets.table import table_source

    rng = random.Random(seed)
    out: list[Sample] = []
    for index, pattern in enumerate(SECRET_PATTERNS):
        source = table_source(pattern.rule.rule_id)
        if source is None or pattern.specificity is Specificity.GENERIC:
            continue
        keyword, token = source
        value = _structured(pattern.rule.rule_id, rng) or draw(token, rng)
        if any(c in value for c in "\n\"' "):
            path, text = f"/etc/app{index}/secret.conf", value + "\n"
        else:
            form = _FORMS[index % len(_FORMS)]
            key = _key(pattern, draw(keyword, rng, short=True) if keyword else None)
            path, text = _file(form, key, value, index)
        secret = _inner(token, value) if "(?P<s>" in token else value
        out.append(Sample(pattern.rule.rule_id, pattern.family, path, text, secret))
    return out


def _inner(token: str, value: str) -> str:
    m = re.match(token, value)
    assert m is not None, (token, value)
    return m.group("s")


def plant(tree: Path, planted: list[Sample]) -> None:
    """Write every sample into a guest tree."""
    for sample in planted:
        target = tree / sample.guest_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(sample.text)
