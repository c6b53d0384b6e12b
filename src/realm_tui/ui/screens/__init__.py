"""One screen per part of the realm; screens compose widgets and route messages."""
