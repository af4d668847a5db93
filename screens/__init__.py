"""One screen per wizard stage; each returns a typed result to the flow in ``tui``."""
