-- extmail_schema.sql - Extman's extmail.sql in today's MySQL/MariaDB
-- dialect (ENGINE=, no zero dates), the shape docs/admin-guide.md
-- describes: domain, mailbox, alias, manager, domain_manager, and the two
-- accounts extmail (MTA, authlib) and webman (admin interface).
CREATE DATABASE extmail;
USE extmail;
CREATE TABLE domain (
  domain varchar(255) NOT NULL default '', description varchar(255) NOT NULL default '',
  hashdirpath varchar(255) NOT NULL default '', maxalias int(10) NOT NULL default '0',
  maxusers int(10) NOT NULL default '0', maxquota varchar(16) NOT NULL default '0',
  maxnetdiskquota varchar(16) NOT NULL default '0', transport varchar(255) default NULL,
  can_signup int(1) NOT NULL default '0', default_quota varchar(255) default NULL,
  default_netdiskquota varchar(255) default NULL, default_expire varchar(12) default NULL,
  disablesmtpd smallint(1) default NULL, disablesmtp smallint(1) default NULL,
  disablewebmail smallint(1) default NULL, disablenetdisk smallint(1) default NULL,
  disableimap smallint(1) default NULL, disablepop3 smallint(1) default NULL,
  createdate datetime NOT NULL default '1000-01-01 00:00:00', expiredate date NOT NULL default '1000-01-01',
  active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (domain), KEY domain (domain)) ENGINE=InnoDB;
CREATE TABLE mailbox (
  username varchar(255) NOT NULL default '', uid varchar(255) NOT NULL default '',
  password varchar(255) NOT NULL default '', clearpwd varchar(128) NOT NULL default '',
  name varchar(255) NOT NULL default '', mailhost varchar(255) NOT NULL default '',
  maildir varchar(255) NOT NULL default '', homedir varchar(255) NOT NULL default '',
  quota varchar(16) NOT NULL default '', netdiskquota varchar(16) NOT NULL default '',
  domain varchar(255) NOT NULL default '', uidnumber int(6) NOT NULL default '1000',
  gidnumber int(6) NOT NULL default '1000', createdate datetime NOT NULL default '1000-01-01 00:00:00',
  expiredate date NOT NULL default '1000-01-01', active smallint(1) NOT NULL default '1',
  disablepwdchange smallint(1) default NULL, disablesmtpd smallint(1) default NULL,
  disablesmtp smallint(1) default NULL, disablewebmail smallint(1) default NULL,
  disablenetdisk smallint(1) default NULL, disableimap smallint(1) default NULL,
  disablepop3 smallint(1) default NULL, question text, answer text,
  PRIMARY KEY (username), KEY username (username)) ENGINE=InnoDB;
CREATE TABLE alias (
  address varchar(255) NOT NULL default '', goto text NOT NULL, domain varchar(255) NOT NULL default '',
  createdate datetime NOT NULL default '1000-01-01 00:00:00', active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (address), KEY address (address)) ENGINE=InnoDB;
CREATE TABLE manager (
  username varchar(255) NOT NULL default '', password varchar(255) NOT NULL default '',
  type varchar(64) NOT NULL default 'postmaster', uid varchar(255) NOT NULL default '',
  name varchar(255) NOT NULL default '', question text, answer text,
  disablepwdchange smallint(1) default NULL, createdate datetime NOT NULL default '1000-01-01 00:00:00',
  expiredate date NOT NULL default '1000-01-01', active tinyint(1) NOT NULL default '1',
  PRIMARY KEY (username), KEY username (username)) ENGINE=InnoDB;
CREATE TABLE domain_manager (
  username varchar(255) NOT NULL default '', domain varchar(255) NOT NULL default '',
  createdate datetime NOT NULL default '1000-01-01 00:00:00', active tinyint(1) NOT NULL default '1',
  KEY username (username)) ENGINE=InnoDB;
CREATE USER 'extmail'@'localhost' IDENTIFIED BY 'extmail';
GRANT SELECT, UPDATE ON extmail.* TO 'extmail'@'localhost';
CREATE USER 'webman'@'localhost' IDENTIFIED BY 'webman';
GRANT SELECT, INSERT, DELETE, UPDATE ON extmail.* TO 'webman'@'localhost';
FLUSH PRIVILEGES;
