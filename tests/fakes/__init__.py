"""HTTP- and SMTP-boundary fakes of the vendor services our notifiers talk to."""
