"""natlab rules: the ruleset a profile generates is valid nftables."""
import itertools
import os
import subprocess

import pytest

from labkit import ROOT, natlab

PRESETS = sorted(f[:-8] for f in os.listdir(os.path.join(ROOT, "natsim", "profiles"))
                 if f.endswith(".profile"))
KNOBS = {
    "mapping": ["eim", "adm", "apdm"],
    "allocation": ["preserve", "sequential", "random"],
    "filtering": ["eif", "adf", "apdf"],
    "unsolicited_syn": ["stack", "drop", "rst", "icmp"],
    "syn_in_syn_sent": ["accept", "drop", "rst"],
    "udp_unsolicited": ["drop", "icmp"],
    "hairpin": ["on", "off"],
}


def nft_check(text):
    # checked in a throwaway namespace: nothing is loaded anywhere
    return subprocess.run(["unshare", "--net", "nft", "-c", "-f", "-"], input=text,
                          capture_output=True, text=True)


def test_all_presets_shipped():
    assert set(PRESETS) >= {"full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
                            "symmetric-sequential", "rst-on-syn", "linux-default", "rfc5382",
                            "cgnat"}


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_rules_pass_nft_check(preset):
    r = natlab("rules", preset)
    assert "table ip natlab" in r.stdout
    c = nft_check(r.stdout)
    assert c.returncode == 0, c.stderr


@pytest.mark.parametrize("mapping,allocation,filtering",
                         list(itertools.product(KNOBS["mapping"], KNOBS["allocation"],
                                                KNOBS["filtering"])))
def test_knob_combinations_pass_nft_check(mapping, allocation, filtering):
    r = natlab("rules", "port-restricted-cone", f"mapping={mapping}",
               f"allocation={allocation}", f"filtering={filtering}", "hairpin=on",
               "port_range=20000-21999", "delta=4", "udp_timeout=5")
    c = nft_check(r.stdout)
    assert c.returncode == 0, c.stderr


@pytest.mark.parametrize("knob,value", [(k, v) for k, vs in KNOBS.items() for v in vs
                                        if k not in ("mapping", "allocation", "filtering")])
def test_answer_knobs_pass_nft_check(knob, value):
    c = nft_check(natlab("rules", "full-cone", f"{knob}={value}").stdout)
    assert c.returncode == 0, c.stderr
