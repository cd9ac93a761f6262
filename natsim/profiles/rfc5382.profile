; What RFC 5382 (NAT behavioural requirements for TCP) asks for: EIM (REQ-1),
; address-dependent filtering (REQ-3's stricter choice), unsolicited SYNs
; dropped silently (REQ-4), hairpinning (REQ-7), an established-connection idle
; timeout of at least 2 h 4 min (REQ-5) and a 4 min transitory timeout.
[nat]
mapping = eim
allocation = preserve
filtering = adf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = on
tcp_established_timeout = 7440
tcp_syn_sent_timeout = 240
