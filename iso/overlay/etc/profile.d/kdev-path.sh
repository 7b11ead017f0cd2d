# shellcheck shell=sh
# Login shells: /etc/profile gives non-root users a PATH without the sbin
# folders; kdev's user administers the node, so add them back.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;;
esac
export PATH
