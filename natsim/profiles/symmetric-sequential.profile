; Symmetric NAT with sequential port allocation: each new 5-tuple takes the
; next external port (delta 1). Predictable, so port prediction can beat it
; (Guha & Francis, IMC 2005: NATBlaster/STUNT). Many older enterprise NATs.
[nat]
mapping = apdm
allocation = sequential
port_range = 20000-29999
delta = 1
filtering = apdf
unsolicited_syn = drop
syn_in_syn_sent = accept
udp_unsolicited = drop
hairpin = off
