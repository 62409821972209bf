"""How a device comes to trust the classroom's certificate authority (tlcore/classroom/tls.py):
the files it installs and the steps, in plain words, per device family.

The CA's certificate is public (only its key, which never leaves the teacher's computer, could
sign anything), so it is served as routers and school device managers serve theirs: over plain
http, by the classroom's own port (tlcore/classroom/front.py), before the device trusts anything.
A teacher who wants to be sure compares its short fingerprint with the one on the projector.

- ``CA_DOWNLOAD`` (``classroom-ca.crt``, DER, ``application/x-x509-ca-cert``): Android,
  Chromebooks, Windows, Macs, Firefox.
- ``PROFILE_DOWNLOAD`` (``classroom-ca.mobileconfig``, ``application/x-apple-aspen-config``): an
  iPad or iPhone installs a certificate only from a configuration profile. One
  ``com.apple.security.root`` payload holding the certificate, nothing else.
"""

from __future__ import annotations

import plistlib
import uuid
from dataclasses import dataclass

from ..i18n import N_, Message, msg

CA_DOWNLOAD, PROFILE_DOWNLOAD = "classroom-ca.crt", "classroom-ca.mobileconfig"
CA_MIME, PROFILE_MIME = "application/x-x509-ca-cert", "application/x-apple-aspen-config"
_PROFILE_NAMESPACE = uuid.UUID("6f1d0c55-3b5e-4c58-9c1e-2f7d1b3a9e41")  # the same CA: the same profile


@dataclass(frozen=True)
class DeviceSteps:
    """Its words are English, marked for the catalogue (N_): a page shows them translated."""

    family: str  # as a teacher names it
    download: str  # which file: CA_DOWNLOAD or PROFILE_DOWNLOAD
    steps: tuple[str, ...]
    then: str  # what works afterwards


DEVICE_STEPS = (
    DeviceSteps(N_("iPad or iPhone"), PROFILE_DOWNLOAD, (
        N_("In Safari, tap **Get the profile for iPad or iPhone**, then **Allow** and **Close**."),
        N_("Open **Settings**: tap **Profile Downloaded** near the top (or **General → VPN & Device Management**), "
           "then **Install**, type the passcode, **Install** again and **Done**. It says \"Not Verified\": "
           "expected, the profile was made by your teacher's computer."),
        N_("Still in Settings: **General → About → Certificate Trust Settings**, switch on "
           "**Transfer Learning Studio classroom**, tap **Continue**."),
    ), N_("Safari, Chrome or any browser on it opens the classroom with no warning, and the camera works.")),
    DeviceSteps(N_("Android phone or tablet"), CA_DOWNLOAD, (
        N_("Tap **Get the certificate** (it goes to Downloads; if Android says it cannot install it from "
           "there, that is expected)."),
        N_("Open **Settings → Security and privacy → More security settings → Encryption and credentials → "
           "Install a certificate → CA certificate → Install anyway**, and choose **classroom-ca.crt**. "
           "(The names differ a little between makers: search Settings for \"CA certificate\".)"),
    ), N_("Chrome opens the classroom with no warning, and the camera works.")),
    DeviceSteps(N_("Chromebook"), CA_DOWNLOAD, (
        N_("Click **Get the certificate** (it goes to Downloads)."),
        N_("Open **Settings → Privacy and security → Security → Manage certificates → Authorities → Import** "
           "(on newer Chromebooks: **Local certificates → Import**), choose **classroom-ca.crt**, tick "
           "**Trust this certificate for identifying websites**, click **OK**."),
    ), N_("Chrome opens the classroom with no warning, and the camera works.")),
    DeviceSteps(N_("Windows computer"), CA_DOWNLOAD, (
        N_("Click **Get the certificate**, then open the downloaded **classroom-ca.crt**."),
        N_("Click **Install Certificate… → Current User → Next → Place all certificates in the following "
           "store → Browse → Trusted Root Certification Authorities → OK → Next → Finish**, and **Yes**."),
        N_("Close the browser and open it again."),
    ), N_("Edge and Chrome open the classroom with no warning. Firefox keeps its own list: see Firefox.")),
    DeviceSteps(N_("Mac"), CA_DOWNLOAD, (
        N_("Click **Get the certificate**, then open the downloaded **classroom-ca.crt**: Keychain Access adds it "
           "to the **login** keychain."),
        N_("In Keychain Access, double-click **Transfer Learning Studio classroom**, open **Trust**, set "
           "**When using this certificate** to **Always Trust**, close the window and type your password."),
    ), N_("Safari and Chrome open the classroom with no warning. Firefox keeps its own list: see Firefox.")),
    DeviceSteps(N_("Firefox (on any computer)"), CA_DOWNLOAD, (
        N_("Click **Get the certificate**."),
        N_("In Firefox: **Settings → Privacy & Security → Certificates → View Certificates → Authorities → "
           "Import**, choose **classroom-ca.crt**, tick **Trust this CA to identify websites**, **OK**."),
    ), N_("Firefox opens the classroom with no warning.")),
)

MANAGED_DEVICES = N_(
    "Give your IT team the certificate (**classroom-ca.crt**; for Apple devices the profile works too) and "
    "ask them to push it once, as a trusted root certificate, to every school device: Apple devices through "
    "the school's device management (a Certificate payload; no Trust Settings step is needed then), "
    "Chromebooks in the Google Admin console (**Devices → Networks → Certificates → Add**, tick "
    "**Chromebook: use this certificate as an HTTPS certificate authority**), Windows through Intune or "
    "Group Policy (**Trusted Root Certification Authorities**), Android through the device management's CA "
    "certificate policy. This certificate can vouch only for addresses on a school network and this "
    "computer's own names, and it lasts a school year; its key never leaves the teacher's computer."
)

WHY = N_("The classroom's server is its own small certificate authority. A device that has "
         "installed its certificate, once, opens the classroom with no warning, keeps the connection the app "
         "runs on (without it iPads, iPhones and Safari load the page but never connect), and may use its camera.")


def fingerprint_words(fingerprint: str) -> Message:
    return msg("The certificate's fingerprint starts with **{fingerprint}**: the same as on the projector "
               "(the Teacher page) means it came from your teacher's computer.", fingerprint=fingerprint)


def mobileconfig(ca_der: bytes, display_name: str = "Transfer Learning Studio classroom") -> bytes:
    """An iOS/iPadOS/macOS configuration profile that installs ``ca_der`` as a root certificate."""
    profile_id = uuid.uuid5(_PROFILE_NAMESPACE, ca_der.hex())
    payload_id = uuid.uuid5(profile_id, "root")
    root = {
        "PayloadType": "com.apple.security.root", "PayloadVersion": 1,
        "PayloadIdentifier": f"org.transfer-learning-studio.classroom.{payload_id}",
        "PayloadUUID": str(payload_id).upper(), "PayloadDisplayName": display_name,
        "PayloadDescription": "The classroom's certificate authority, so this device trusts the classroom.",
        "PayloadCertificateFileName": "classroom-ca.cer", "PayloadContent": ca_der,
    }
    profile = {
        "PayloadType": "Configuration", "PayloadVersion": 1,
        "PayloadIdentifier": f"org.transfer-learning-studio.classroom.{profile_id}",
        "PayloadUUID": str(profile_id).upper(), "PayloadDisplayName": display_name,
        "PayloadDescription": ("Lets this device open the Transfer Learning Studio classroom on the school "
                               "network with no warning. Remove it when the class is over."),
        "PayloadOrganization": "Transfer Learning Studio", "PayloadRemovalDisallowed": False,
        "PayloadContent": [root],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)


def setup_url(join_url: str) -> str:
    """Where a device gets the CA before it trusts the classroom: the join address over plain
    http (the classroom's port answers it, tlcore/classroom/front.py), ``http://10.0.0.7:8501/``."""
    return "http://" + join_url.split("://", 1)[1]
