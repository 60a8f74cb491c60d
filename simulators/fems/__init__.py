"""What the FEMS REST and Modbus simulators share: the channels, the firmware and the API worker."""
