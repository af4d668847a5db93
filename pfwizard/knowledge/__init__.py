"""What pfwizard knows about Postfix, as data files shipped with the package
(``catalogue.ini``: every smtpd restriction, read by ``pfwizard.catalogue``)."""
