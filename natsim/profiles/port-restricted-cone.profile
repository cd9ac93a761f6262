; Port-restricted cone (RFC 4787: endpoint-independent mapping,
; address-and-port-dependent filtering). Only the exact remote endpoint the
; inside has sent to may answer. The most common home router behaviour today
; (OpenWrt/Linux with EIM, most ISP CPEs).
[nat]
mapping = eim
allocation = preserve
filtering = apdf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
