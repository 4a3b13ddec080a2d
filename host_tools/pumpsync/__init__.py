"""pumpsync: the host tools a nurse or technician uses with a PumpWatch unit."""

from pumpwatch import VERSION as FIRMWARE_VERSION

__all__ = ["FIRMWARE_VERSION"]
