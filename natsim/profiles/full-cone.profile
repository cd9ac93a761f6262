; Full cone (RFC 4787: endpoint-independent mapping and filtering).
; Once an inside endpoint has sent anything, anyone may reach it on its external
; port. Old consumer routers with "game mode"/DMZ-like UPnP behaviour, many
; CGNs meant to be P2P friendly.
[nat]
mapping = eim
allocation = preserve
filtering = eif
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
