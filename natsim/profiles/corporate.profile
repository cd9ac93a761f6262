; A corporate network's firewall: the inside may open TCP to the web's ports
; (80, 443) and UDP to DNS (53), nothing else; UDP elsewhere is blocked, the
; network where TCP punching is the only direct way. Its NAT maps per inside
; endpoint with random ports (port address translation) and lets in only the
; endpoints the inside has sent to.
[nat]
mapping = eim
allocation = random
filtering = apdf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
outbound_tcp = 80,443
outbound_udp = 53
