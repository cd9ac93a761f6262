; Restricted cone (RFC 4787: endpoint-independent mapping, address-dependent
; filtering). Inbound packets pass from any port of an address the inside has
; sent to. Many SOHO routers of the 2000s; RFC 4787 REQ-8's stricter choice.
[nat]
mapping = eim
allocation = preserve
filtering = adf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
