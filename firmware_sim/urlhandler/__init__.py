"""pyserial URL handlers: ``serial.serial_for_url("sim://...")`` imports ``protocol_sim`` here.

:mod:`drivers.transport` appends this package to ``serial.protocol_handler_packages``.
"""
