"""Windows credential files: proofs (decoding, decryption) and the decoys left alone."""

from __future__ import annotations

import base64

from vmguard.checks.interface import FileContent
from vmguard.checks.winfiles import WindowsCredentialFiles, gpp_decrypt

CHECK = WindowsCredentialFiles()


def _evidence(path: str, data: bytes) -> list[str]:
    assert CHECK.wants(path)
    return [f.evidence for f in CHECK.check(FileContent(path, data, 0))]


def test_gpp_decrypts_microsofts_published_example() -> None:
    # The example cpassword of MS-GPPREF's readers is the password "Local*P4ssword!".
    assert gpp_decrypt(b"j1Uyj3Vx8TY9LtLZil2uAuZkFQA/4latT76ZwgdHdhw") == "Local*P4ssword!"
    assert gpp_decrypt(b"not base64!") is None
    assert gpp_decrypt(base64.b64encode(bytes(15))) is None  # not whole AES blocks


def test_gpp_empty_and_undecryptable_cpasswords_are_decoys() -> None:
    path = "/Windows/SYSVOL/domain/Policies/{X}/Machine/Preferences/Groups/Groups.xml"
    xml = b'<Properties userName="a" cpassword=""/><Properties cpassword="AAAAAAAAAAAAAAAAAAAAAA"/>'
    assert _evidence(path, xml) == []
    assert not CHECK.wants("/Users/a/Documents/Groups.xml")  # not under Preferences


def test_unattend_base64_needs_the_suffix_to_count() -> None:
    good = base64.b64encode("S3cret!PwPassword".encode("utf-16-le")).decode()
    wrong = base64.b64encode("S3cret!Pw".encode("utf-16-le")).decode()
    xml = (
        f"<Password><Value>{good}</Value><PlainText>false</PlainText></Password>"
        f"<Password><Value>{wrong}</Value><PlainText>false</PlainText></Password>"
        "<AdministratorPassword><Value>*SENSITIVE*DATA*DELETED*</Value>"
        "<PlainText>true</PlainText></AdministratorPassword>"
        "<DomainAdminPassword><Value></Value></DomainAdminPassword>"
    ).encode()
    (evidence,) = _evidence("/Windows/Panther/Unattend/Unattend.xml", xml)
    assert evidence.startswith("answer file: <Password> (base64, decoded): S3")
    assert "S3cret!Pw" not in evidence and good not in evidence


def test_unattend_in_utf16_and_credentials_element() -> None:
    xml = "\ufeff<Credentials><Domain>corp</Domain><Password>J0in!Domain</Password></Credentials>"
    (evidence,) = _evidence("/Windows/System32/Sysprep/unattend.xml", xml.encode("utf-16-le"))
    assert evidence.startswith("answer file: <Password> (plaintext): J0")


def test_web_config_encrypted_and_variable_values_are_left_alone() -> None:
    data = (
        b'<add key="ApiPassword" value="K3y!Value99"/>'
        b'<add name="a" connectionString="Server=s;Password=[enc:Provider:abc:enc];"/>'
        b'<add name="b" connectionString="Server=s;Pwd=$(DbPassword);"/>'
        b'<virtualDirectory password="[enc:IISWASOnlyCngProvider:xyz:enc]"/>'
    )
    assert _evidence("/inetpub/wwwroot/Web.config", data) == [
        "web.config: ApiPassword: K3…[redacted, 11 chars]"
    ]


def test_filezilla_plain_and_rdp_utf16() -> None:
    plain = b"<Server><Host>h</Host><User>u</User><Pass>Plain!Zilla</Pass></Server>"
    (evidence,) = _evidence("/Users/a/AppData/Roaming/FileZilla/recentservers.xml", plain)
    assert evidence == "FileZilla: u@h (plaintext): Pl…[redacted, 11 chars]"
    rdp = "\ufefffull address:s:srv\r\npassword 51:b:01000000D08C9DDF0115D111\r\n"
    (evidence,) = _evidence("/Users/a/Desktop/srv.RDP", rdp.encode("utf-16-le"))
    assert evidence.startswith("Remote Desktop: .rdp saved password @srv (DPAPI blob): 0100")


def test_cloud_cli_json_tokens() -> None:
    from vmguard.checks.credfiles import CredentialFiles

    path = "/Users/a/AppData/Roaming/gcloud/legacy_credentials/a@example.org/adc.json"
    data = b'{"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//0abcdefghijk"}'
    files = CredentialFiles()
    assert files.wants(path) and files.wants(
        "/home/a/.config/gcloud/application_default_credentials.json"
    )
    found = sorted(f.evidence for f in files.check(FileContent(path, data, 0)))
    assert [e.split(", sha256")[0] for e in found] == [
        "cloud CLI credentials: client_secret: d-FL…[redacted, 24 chars",
        "cloud CLI credentials: refresh_token: 1//…[redacted, 15 chars]",
    ]


def test_pre_vista_answer_files() -> None:
    data = (
        b'[GuiUnattended]\r\nAdminPassword="Old!Admin1"\r\n'
        b"[Identification]\r\nDomainAdminPassword=*\r\n"
    )
    (evidence,) = _evidence("/i386/winnt.sif", data)
    assert evidence == "winnt.sif: AdminPassword: Ol…[redacted, 10 chars]"
