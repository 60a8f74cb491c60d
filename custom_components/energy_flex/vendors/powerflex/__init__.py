"""PowerFlex EV-charging cloud (`powerflex`): one site, its charging stations, DCM control."""
