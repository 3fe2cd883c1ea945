"""The consent register: the only user of sqlite3. People, consents, face templates, the basis for
holding them, where the register lives, the retention review, access-request exports and the audit log.
"""

from .location import RegisterLocation, locate_register
from .store import ROLES, Register

__all__ = ["ROLES", "Register", "RegisterLocation", "locate_register"]
