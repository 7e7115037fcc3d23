# samdb.py SMBCONF LDIF: applies LDIF modifications to the sam.ldb of the
# Samba AD DC configured by SMBCONF, offline (no server needed), as
# start.sh's provisioning step. Debian 12 has no ldbmodify without the
# ldb-tools package; python3-samba (installed with samba) does the same.
import sys

from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB

lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
with open(sys.argv[2]) as f:
    db.modify_ldif(f.read())
