; Symmetric NAT (RFC 4787: address-and-port-dependent mapping and filtering)
; with random port allocation. Every new destination gets a fresh random
; external port, so the port a rendezvous server sees is useless to a peer.
; Enterprise firewalls, some mobile carriers' CGNs.
[nat]
mapping = apdm
allocation = random
port_range = 1024-65535
filtering = apdf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
